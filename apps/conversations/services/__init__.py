"""Writes for conversations. Import from here: `from apps.conversations.services import message_send`."""

from apps.conversations.services.canned import canned_response_create, canned_response_delete, canned_response_update
from apps.conversations.services.channels import (
    ChannelInUse,
    channel_connection_save,
    channel_create,
    channel_delete,
    channel_set_active,
    channel_update,
    channel_widget_settings_update,
)
from apps.conversations.services.composer import composer_send
from apps.conversations.services.conversations import (
    conversation_assign,
    conversation_for_inbound,
    conversation_mark_read,
    conversation_set_labels,
    conversation_set_priority,
    conversation_set_status,
    conversation_snooze,
    conversation_start,
    conversations_wake_snoozed,
    presence_set,
    round_robin_pick,
)
from apps.conversations.services.delivery import message_deliver
from apps.conversations.services.inbound import webhook_event_process, webhook_event_store
from apps.conversations.services.media import attachment_fetch
from apps.conversations.services.messages import message_receive, message_send, status_apply
from apps.conversations.services.retention import messages_redact_expired

__all__ = [
    "ChannelInUse",
    "attachment_fetch",
    "canned_response_create",
    "canned_response_delete",
    "canned_response_update",
    "channel_connection_save",
    "channel_create",
    "channel_delete",
    "channel_set_active",
    "channel_update",
    "channel_widget_settings_update",
    "composer_send",
    "conversation_assign",
    "conversation_for_inbound",
    "conversation_mark_read",
    "conversation_set_labels",
    "conversation_set_priority",
    "conversation_set_status",
    "conversation_snooze",
    "conversation_start",
    "conversations_wake_snoozed",
    "message_deliver",
    "message_receive",
    "message_send",
    "messages_redact_expired",
    "presence_set",
    "round_robin_pick",
    "status_apply",
    "webhook_event_process",
    "webhook_event_store",
]
