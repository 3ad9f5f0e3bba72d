"""WebSockets: agents in the inbox (`/ws/inbox/`) and customers in the widget (`/ws/widget/<public_key>/`).

Every event a client sees was stored first as a LiveEvent with a per-merchant seq; a client that
reconnects sends its last seq and gets what it missed from the database. Typing indicators are the
exception: they are ephemeral and never stored.
"""

from __future__ import annotations

import collections
import logging
import time
from typing import Any

from apps.conversations import events, live, widget
from apps.conversations.relay import relay_ensure_started
from apps.conversations.services.widget import PrechatIncomplete
from apps.core import inputs, ratelimit
from apps.core.roles import Capability
from apps.core.sockets import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED, GroupSocket, MemberSocket

logger = logging.getLogger(__name__)

RESUME_PAGE = 500
RESUME_MAX_PAGES = 10  # past this a client is told to reload instead of streaming thousands of events
SEEN_WINDOW = 2000
# A public socket: a customer types and sends a few frames a second at most; a script flooding it is cut
# short before it reaches the database or the agents' screens.
WIDGET_RATE = 5.0
WIDGET_BURST = 20


class RateLimit:
    """A token bucket per socket (no shared state: each socket is one visitor's window)."""

    def __init__(self, *, per_second: float, burst: int) -> None:
        self.per_second, self.burst = per_second, burst
        self.tokens, self.at = float(burst), time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class LiveConsumer(GroupSocket):
    """Shared plumbing: per-socket de-duplication by seq and the catch-up stream."""

    def _init_seen(self) -> None:
        self._seen: set[int] = set()
        self._seen_order: collections.deque[int] = collections.deque()

    def _first_time(self, seq: int) -> bool:
        # The relay and a resume can both carry an event this socket already delivered.
        if seq in self._seen:
            return False
        self._seen.add(seq)
        self._seen_order.append(seq)
        if len(self._seen_order) > SEEN_WINDOW:
            self._seen.discard(self._seen_order.popleft())
        return True

    async def emit_event(self, event: dict) -> None:
        """Send one stored event unless this socket has sent it already (or it is not for this client)."""
        view = self.view_of(event)
        if view is not None and self._first_time(int(event["seq"])):
            await self.send_json(view)

    def view_of(self, event: dict) -> dict | None:
        return {"type": "event", **{k: event.get(k) for k in ("seq", "kind", "payload", "conversation_id")}}

    async def replay(self, *, merchant_id: int, after_seq: int, conversation_id: int | None = None) -> None:
        cursor = after_seq
        for _ in range(RESUME_MAX_PAGES):
            page = await live.events_since(
                merchant_id=merchant_id, after_seq=cursor, conversation_id=conversation_id, limit=RESUME_PAGE
            )
            for event in page:
                await self.emit_event(event)
            if len(page) < RESUME_PAGE:
                await self.send_json({"type": "resumed", "last_seq": page[-1]["seq"] if page else cursor})
                return
            cursor = page[-1]["seq"]
        await self.send_json({"type": "reload", "reason": "too_many_missed_events"})

    async def live_event(self, message: dict) -> None:
        await self.emit_event(message)

    async def live_typing(self, message: dict) -> None:
        if message.get("sender") == self.channel_name:
            return
        view = self.typing_view(message)
        if view is not None:
            await self.send_json(view)

    def typing_view(self, message: dict) -> dict | None:
        return {k: message[k] for k in ("conversation_id", "who", "name", "state")} | {"type": "typing"}


class InboxConsumer(MemberSocket, LiveConsumer):
    """One socket per open inbox tab; receives every event of the agent's current merchant while the
    agent's membership and role allow the inbox (MemberSocket closes it when they stop doing so)."""

    capability = Capability.INBOX

    async def connect(self) -> None:
        self._init_seen()
        if not await self.member_connect():
            return
        user = self.scope["user"]
        self.user_id, self.user_name = user.pk, user.display_name
        await self.join(events.merchant_group(self.merchant_id))
        await self.accept()
        relay_ensure_started()
        last = await live.last_seq(merchant_id=self.merchant_id)
        await self.send_json(
            {"type": "hello", "merchant_id": self.merchant_id, "user_id": self.user_id, "last_seq": last}
        )

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            return await self.send_error("bad_request", "Send a JSON object with a type.")
        handler = {
            "resume": self._on_resume,
            "typing": self._on_typing,
            "presence": self._on_presence,
            "read": self._on_read,
            "ping": self._on_ping,
        }.get(content.get("type"))
        if handler is None:
            return await self.send_error("unknown_type", f"Unknown message type {content.get('type')!r}.")
        await handler(content)

    async def _on_ping(self, content: dict) -> None:
        await self.send_json({"type": "pong"})

    async def _on_resume(self, content: dict) -> None:
        after = inputs.ascii_int(content.get("after_seq"))
        if after is None:
            return await self.send_error("bad_request", "after_seq must be a non-negative integer.", field="after_seq")
        conversation_id = None
        if content.get("conversation_id") is not None:
            conversation_id = await self._conversation_id(content)
            if conversation_id is None:
                return
        await self.replay(merchant_id=self.merchant_id, after_seq=after, conversation_id=conversation_id)

    async def _conversation_id(self, content: dict) -> int | None:
        """The conversation id when it is this merchant's; otherwise an error to the client and None."""
        conversation_id = inputs.ascii_int(content.get("conversation_id"))
        if conversation_id is None or not await live.conversation_exists(
            merchant_id=self.merchant_id, conversation_id=conversation_id
        ):
            await self.send_error("not_found", "No conversation with this id.", field="conversation_id")
            return None
        return conversation_id

    async def _on_typing(self, content: dict) -> None:
        conversation_id = await self._conversation_id(content)
        if conversation_id is None:
            return
        message = {
            "type": "live.typing",
            "conversation_id": conversation_id,
            "who": "agent",
            "user_id": self.user_id,
            "name": self.user_name,
            "state": "on" if content.get("state", "on") == "on" else "off",
            "sender": self.channel_name,
        }
        await self.channel_layer.group_send(events.merchant_group(self.merchant_id), message)
        await self.channel_layer.group_send(events.conversation_group(conversation_id), message)

    async def _on_presence(self, content: dict) -> None:
        status = content.get("status")
        if status not in ("online", "away"):
            return await self.send_error("bad_request", "status must be online or away.", field="status")
        await live.presence_set(merchant_id=self.merchant_id, user=self.scope["user"], status=status)

    async def _on_read(self, content: dict) -> None:
        conversation_id = await self._conversation_id(content)
        if conversation_id is not None:
            await live.conversation_mark_read(
                merchant_id=self.merchant_id, conversation_id=conversation_id, user=self.scope["user"]
            )

    async def access_ended(self) -> None:
        await self._offline()

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if not self.access_revoked:  # a revoked socket went offline when it was closed
            await self._offline()

    async def _offline(self) -> None:
        if self.merchant_id is not None:
            await live.presence_set(merchant_id=self.merchant_id, user=self.scope["user"], status="offline")


class WidgetConsumer(LiveConsumer):
    """A customer's chat window on a merchant's site. It authenticates with its first message
    (`{"type": "auth", "token": …}`) so the token never appears in URLs or access logs."""

    async def connect(self) -> None:
        self._init_seen()
        self.visitor = None
        self.contact = None
        self.rate = RateLimit(per_second=WIDGET_RATE, burst=WIDGET_BURST)
        self.conversation_id: int | None = None
        public_key = self.scope["url_route"]["kwargs"]["public_key"]
        self.channel = await live.widget_channel(public_key=public_key)
        if self.channel is None:
            await self.accept()
            return await self.close(code=CLOSE_NOT_FOUND)
        origin = live.header(self.scope, b"origin")
        if not live.origin_ok(channel=self.channel, origin=origin, portal_host=live.header(self.scope, b"host")):
            logger.info("widget.origin_refused", extra={"channel_id": self.channel.pk, "origin": origin})
            await self.accept()
            return await self.close(code=CLOSE_FORBIDDEN)
        await self.accept()
        relay_ensure_started()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            return await self.send_error("bad_request", "Send a JSON object with a type.")
        kind = content.get("type")
        if self.visitor is None and kind != "auth":
            return await self.send_error("unauthenticated", "Send {type: auth, token} first.")
        handler = {
            "auth": self._on_auth,
            "resume": self._on_resume,
            "message": self._on_message,
            "typing": self._on_typing,
            "seen": self._on_seen,
            "ping": self._on_ping,
        }.get(kind)
        if handler is None:
            return await self.send_error("unknown_type", f"Unknown message type {kind!r}.")
        if not self.rate.allow():
            return await self.send_error("slow_down", "Too many messages; wait a moment.", id=content.get("id"))
        await handler(content)

    async def _on_ping(self, content: dict) -> None:
        await self.send_json({"type": "pong"})

    async def _on_auth(self, content: dict) -> None:
        visitor = live.visitor_from_token(channel=self.channel, token=content.get("token"))
        if visitor is None or (self.visitor is not None and visitor != self.visitor):
            await self.send_error("bad_token", "This chat session is not valid any more.")
            return await self.close(code=CLOSE_UNAUTHENTICATED)
        self.visitor = visitor
        await self._follow(await live.visitor_conversation_id(channel=self.channel, visitor_id=visitor.visitor_id))
        await self.send_json({"type": "ready", "conversation_id": self.conversation_id})
        after = inputs.ascii_int(content.get("after_seq"))
        if after is not None:
            await self._resume(after)

    async def _on_resume(self, content: dict) -> None:
        after = inputs.ascii_int(content.get("after_seq"))
        if after is None:
            return await self.send_error("bad_request", "after_seq must be a non-negative integer.", field="after_seq")
        await self._resume(after)

    async def _resume(self, after: int) -> None:
        # An upload over HTTP may have started the conversation since this socket authenticated.
        await self._follow(await live.visitor_conversation_id(channel=self.channel, visitor_id=self.visitor.visitor_id))
        if self.conversation_id is None:
            return await self.send_json({"type": "resumed", "last_seq": after})
        await self.replay(merchant_id=self.channel.merchant_id, after_seq=after, conversation_id=self.conversation_id)

    async def _follow(self, conversation_id: int | None) -> bool:
        """Listen to the visitor's current conversation only (a resolved thread may be replaced by a new one)."""
        if conversation_id is None or conversation_id == self.conversation_id:
            return False
        await self.leave_all()
        self.conversation_id = conversation_id
        await self.join(events.conversation_group(conversation_id))
        return True

    async def _on_message(self, content: dict) -> None:
        client_id, text = content.get("id"), content.get("text")
        problem = live.widget_message_problem(client_id=client_id, text=text)
        if problem:
            return await self.send_error("invalid", problem, id=client_id)
        # Per visitor, IP and merchant across sockets and processes: a visitor may open many sockets.
        client = self.scope.get("client")  # ASGI makes the client optional; uvicorn always sets it
        buckets = widget.widget_buckets(
            action="message", channel=self.channel, visitor_id=self.visitor.visitor_id, ip=client[0] if client else None
        )
        try:
            result = await live.widget_message_receive(
                channel=self.channel,
                visitor_id=self.visitor.visitor_id,
                client_id=client_id,
                text=text,
                buckets=buckets,
                contact=self.contact,
            )
        except ratelimit.RateLimited as exc:
            message = f"Too many messages; try again in {exc.retry_after} seconds."
            return await self.send_error("rate_limited", message, id=client_id, retry_after=exc.retry_after)
        except PrechatIncomplete as exc:
            return await self.send_error("prechat_required", exc.message, id=client_id)
        self.contact = result.pop("contact")
        started = await self._follow(result["conversation_id"])
        await self.send_json({"type": "ack", "id": client_id, **result})
        if started:  # the events of a brand-new conversation were broadcast before this socket joined it
            await self.replay(merchant_id=self.channel.merchant_id, after_seq=0, conversation_id=self.conversation_id)

    async def _on_typing(self, content: dict) -> None:
        if self.conversation_id is None:
            return  # nobody is looking at a conversation that does not exist yet
        message = {
            "type": "live.typing",
            "conversation_id": self.conversation_id,
            "who": "contact",
            "name": "",
            "state": "on" if content.get("state", "on") == "on" else "off",
            "sender": self.channel_name,
        }
        await self.channel_layer.group_send(events.merchant_group(self.channel.merchant_id), message)

    async def _on_seen(self, content: dict) -> None:
        up_to = inputs.ascii_int(content.get("message_id"))
        if up_to is None or self.conversation_id is None:
            return await self.send_error("bad_request", "message_id must be an integer.", field="message_id")
        await live.widget_mark_seen(
            channel=self.channel,
            visitor_id=self.visitor.visitor_id,
            conversation_id=self.conversation_id,
            up_to_id=up_to,
        )

    def view_of(self, event: dict) -> dict | None:
        if event.get("conversation_id") != self.conversation_id:
            return None
        return live.widget_event_view(event)

    async def emit_event(self, event: dict) -> None:
        view = self.view_of(event)
        if view is None or not self._first_time(int(event["seq"])):
            return
        if view["message"]["attachments"] and event["kind"] == "message.created":
            links = await live.widget_file_links(channel=self.channel, message_id=view["message"]["id"])
            view["message"]["attachments"] = links or view["message"]["attachments"]
        await self.send_json(view)

    def typing_view(self, message: dict) -> dict | None:
        if message.get("who") != "agent" or message.get("conversation_id") != self.conversation_id:
            return None
        return {"type": "typing", "who": "agent", "name": message.get("name", ""), "state": message["state"]}
