"""Access changes pushed to a user's open sockets, so each re-checks what it may still stream.

Every portal socket (inbox, campaign progress) joins `access_group(user_id)` at connect. A write that may
end a user's access (membership removed, role changed, signed out, password changed, deactivated) calls
`access_changed` inside its transaction; once it commits, each of that user's sockets re-reads its own
membership, role and session (apps.core.sockets) and closes if it no longer may stream.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

MESSAGE_TYPE = "access.changed"


def access_group(user_id: int) -> str:
    return f"access.{user_id}"


def access_changed(*, user_id: int) -> None:
    """Tell the user's sockets to re-check their access once the current transaction commits."""
    transaction.on_commit(lambda: _send(user_id))


def _send(user_id: int) -> None:
    layer = get_channel_layer()
    try:
        async_to_sync(layer.group_send)(access_group(user_id), {"type": MESSAGE_TYPE})
    except Exception:  # the change is committed; each socket's periodic re-check still closes it (sockets.py)
        logger.warning("merchants.access_changed_broadcast_failed", extra={"user_id": user_id}, exc_info=True)
