"""What every portal socket shares: group bookkeeping, close codes, and closing when access ends.

A member's socket is authorised once at connect, but a socket lives for hours. `MemberSocket` keeps it
honest: it listens on the user's access group (apps.merchants.access_events), and on every `access.changed`
(sent after a membership, role, password or sign-in change commits) and every `ACCESS_RECHECK_SECONDS`
(for changes made where no service runs, e.g. the Django admin or a shell) it re-reads the session,
the membership and the role. When access has ended it leaves every group first, so not one more event
reaches the client, then closes: 4401 when the session no longer signs the user in, 4403 when the
membership is gone or the role lost the socket's capability.

`MemberSocket.member_connect` is the one place a portal socket resolves its merchant and role: the
session's chosen membership (as the middleware does for pages), refused with 4401 (not signed in) or 4403
(no membership whose role grants the socket's capability). An object id in the route that is not the
merchant's is refused with 4403 too (`CLOSE_FORBIDDEN`), so a socket never tells whether another
merchant's id exists; 4404 is for a public socket's unknown key (the widget).
"""

from __future__ import annotations

import asyncio
from importlib import import_module
from typing import Any, ClassVar

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from apps.core import inputs
from apps.core.roles import role_can
from apps.merchants.access_events import MESSAGE_TYPE, access_group
from apps.merchants.models import Membership
from apps.merchants.selectors import member_can, membership_current

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


def session_user(*, session_key: str | None) -> AbstractBaseUser | None:
    """The active user this session still signs in, or None (signed out, expired, password changed)."""
    if not session_key:
        return None
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(request)  # Django's own checks: backend, is_active, the session's password hash
    return user if user.is_authenticated else None


def access_close_code(*, session_key: str | None, merchant_id: int, capability: str) -> int | None:
    """None while the socket may stream this merchant's `capability`; else the code that closes it."""
    user = session_user(session_key=session_key)
    if user is None:
        return CLOSE_UNAUTHENTICATED
    return None if member_can(merchant=merchant_id, user=user, capability=capability) else CLOSE_FORBIDDEN


def socket_membership(*, user: AbstractBaseUser, merchant_id: int | None, capability: str) -> Membership | None:
    """The member's current membership (the session's choice when it is theirs) if its role grants
    `capability`, else None."""
    membership = membership_current(user=user, merchant_id=merchant_id)
    return membership if membership is not None and role_can(membership.role, capability) else None


class GroupSocket(AsyncJsonWebsocketConsumer):
    """Remembers the groups it joined, so leaving them all is one call; decodes frames within the edge's
    bounds (apps.core.inputs), answering a bad frame with an error frame instead of dying with 1011."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups_joined: list[str] = []

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if text_data is None:
            return await self.send_error("bad_request", "Send JSON in text frames.")
        try:
            content = inputs.json_loads(text_data)
        except inputs.InputError as exc:
            return await self.send_error("bad_request", exc.message, **({"field": exc.field} if exc.field else {}))
        await self.receive_json(content, **kwargs)

    async def dispatch(self, message: dict) -> None:
        # Channels closes stale database connections before every message, through its one thread-sensitive
        # thread: an event to 20 agents' sockets queued 20 hops on that thread. Our sockets reach the database
        # only through database_sync_to_async, which closes stale connections in its own worker thread.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def send_error(self, code: str, message: str, **extra: Any) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, **extra})

    async def join(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)

    async def leave_all(self) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    async def disconnect(self, code: int) -> None:
        await self.leave_all()


class MemberSocket(GroupSocket):
    """A socket that streams one merchant's data to one member while their access lasts."""

    capability: ClassVar[str]
    # Accept before closing a refused socket, so a browser can read the close code and stop retrying; a
    # socket refused before accept shows the browser a failed handshake instead (no code to read).
    accept_before_refusing: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.merchant_id: int | None = None
        self.role: str | None = None
        self.access_merchant_id: int | None = None
        self.access_revoked = False
        self._recheck: asyncio.Task | None = None

    async def member_connect(self) -> bool:
        """Resolve the member's merchant and role once, or refuse the socket (4401/4403) and say False.

        On True, `merchant_id` and `role` are set and access is re-checked from then on.
        """
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return False
        await self.access_listen(user_id=user.pk)
        session = self.scope.get("session")
        membership = await database_sync_to_async(socket_membership)(
            user=user, merchant_id=session.get("merchant_id") if session else None, capability=self.capability
        )
        if membership is None:
            await self.refuse(CLOSE_FORBIDDEN)
            return False
        self.merchant_id, self.role = membership.merchant_id, membership.role
        self.access_granted(merchant_id=membership.merchant_id)
        return True

    async def refuse(self, code: int) -> None:
        """Close a socket that may not stream: nothing joined, nothing re-checked, the code sent."""
        self._recheck_stop()
        await self.leave_all()
        if self.accept_before_refusing:
            await self.accept()
        await self.close(code=code)

    async def access_listen(self, *, user_id: int) -> None:
        """Join the user's access group; call before checking access, so a change committed after the
        check is still heard."""
        await self.join(access_group(user_id))

    def access_granted(self, *, merchant_id: int) -> None:
        """The connect-time check passed for this merchant: from now on it is re-checked."""
        self.access_merchant_id = merchant_id
        self._recheck = asyncio.create_task(self._recheck_periodically())

    async def _recheck_periodically(self) -> None:
        # Through the socket's own channel, so the re-check runs between two events, never beside one.
        while True:
            await asyncio.sleep(settings.ACCESS_RECHECK_SECONDS)
            await self.channel_layer.send(self.channel_name, {"type": MESSAGE_TYPE})

    async def access_changed(self, message: dict) -> None:
        if self.access_merchant_id is None or self.access_revoked:
            return
        session = self.scope.get("session")
        code = await database_sync_to_async(access_close_code)(
            session_key=session.session_key if session else None,
            merchant_id=self.access_merchant_id,
            capability=self.capability,
        )
        if code is not None:
            await self.access_revoke(code)

    async def access_revoke(self, code: int) -> None:
        self.access_revoked = True
        self._recheck_stop()
        await self.leave_all()
        await self.access_ended()
        await self.close(code=code)

    async def access_ended(self) -> None:
        """Hook for consumers with something to undo when access ends (e.g. presence)."""

    async def dispatch(self, message: dict) -> None:
        # Once revoked, nothing more goes out: not an event already queued for this channel, nor an
        # answer to a frame the client sent meanwhile.
        if self.access_revoked and message["type"] != "websocket.disconnect":
            return
        await super().dispatch(message)

    def _recheck_stop(self) -> None:
        if self._recheck is not None:
            self._recheck.cancel()
            self._recheck = None

    async def disconnect(self, code: int) -> None:
        self._recheck_stop()
        await super().disconnect(code)
