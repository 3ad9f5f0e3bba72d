"""Handing a queued message to Meta, and what happens when Meta says no."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from apps.conversations import outbound, policy, providers
from apps.conversations.models import Attachment, AttachmentStatus, ChannelKind, Message, MessageKind, MessageStatus
from apps.conversations.services.messages import status_apply
from apps.meta import errors, payloads
from apps.meta.errors import GraphError

logger = logging.getLogger(__name__)


class DeliveryRetry(Exception):
    """Raised to the Celery task: a transient provider failure, try again later."""

    def __init__(self, error: GraphError):
        self.error = error
        super().__init__(str(error))


class MediaMissing(Exception):
    """A media message whose file is not stored with us: nothing to upload, so nothing to send."""


def message_payload_for_provider(message: Message, recipient: str, client=None) -> dict:
    """Meta's send body for this message. A media message uploads its file first (once: the id Meta
    answers is kept on the Attachment, so a retried send reuses it)."""
    channel = message.channel
    if message.kind == MessageKind.MEDIA:
        return _media_payload(message, recipient, client or providers.get_client(channel))
    if channel.kind == ChannelKind.WHATSAPP:
        if message.kind == MessageKind.TEMPLATE:
            return payloads.whatsapp_template_payload(
                recipient,
                message.template_name,
                message.template_language,
                params=message.template_params,
                **message.metadata.get(outbound.TEMPLATE_PARTS_KEY, {}),
                opaque=message.metadata.get("opaque"),
            )
        return payloads.whatsapp_text_payload(recipient, message.body)
    return payloads.messenger_text_payload(
        recipient, message.body, message.messaging_type or "RESPONSE", message.tag or None
    )


def _media_payload(message: Message, recipient: str, client) -> dict:
    attachment = (
        Attachment.objects.filter(message=message, status=AttachmentStatus.STORED)
        .exclude(file="")
        .order_by("id")
        .first()
    )
    if attachment is None:
        raise MediaMissing("the file of this message is not stored")
    whatsapp = message.channel.kind == ChannelKind.WHATSAPP
    kind = (
        payloads.whatsapp_media_type(attachment.media_type, attachment.mime_type)
        if whatsapp
        else payloads.messenger_media_type(attachment.media_type)
    )
    if not attachment.provider_media_id:
        with attachment.file.open("rb") as fh:
            content = fh.read()
        try:
            attachment.provider_media_id = client.upload(
                content=content, filename=attachment.filename, mime_type=attachment.mime_type, media_type=kind
            )
        except GraphError as exc:  # same classification; the reason says which step failed
            raise GraphError(exc.code, exc.http_status, f"file upload failed: {exc.message}", exc.outcome) from None
        attachment.save(update_fields=["provider_media_id"])
    if whatsapp:
        return payloads.whatsapp_media_payload(
            recipient, kind, attachment.provider_media_id, caption=message.body, filename=attachment.filename
        )
    return payloads.messenger_attachment_payload(
        recipient, kind, attachment.provider_media_id, message.messaging_type or "RESPONSE", message.tag or None
    )


def message_deliver(*, message_id: int, final_attempt: bool = True) -> str:
    """Send a queued message once. Safe to run twice: only a `queued` row that nobody else holds is sent.

    Returns "sent" | "failed" | "skipped"; raises DeliveryRetry on a transient failure unless this is the
    final attempt (then the message is marked failed with the provider's code).
    """
    retry: GraphError | None = None
    with transaction.atomic():
        # The row lock is held during the HTTP call so a redelivered task cannot send the message twice.
        message = (
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("channel", "conversation__channel")
            .filter(pk=message_id, status=MessageStatus.QUEUED)
            .first()
        )
        if message is None:
            return "skipped"
        message.send_attempts += 1
        recipient = policy.recipient_for(message.conversation)
        if not message.channel.is_active or not recipient:
            return _fail(message, "channel_inactive" if not message.channel.is_active else "no_identity", "")
        if refusal := outbound.delivery_refusal(message=message):
            return _fail(message, refusal.code, refusal.message)
        if providers.sandbox_refused(message.channel):
            return _fail(message, providers.SANDBOX_OFF, providers.SANDBOX_OFF_MESSAGE)
        client = providers.get_client(message.channel)
        try:
            result = client.send(message_payload_for_provider(message, recipient, client))
        except MediaMissing as exc:
            return _fail(message, "attachment_missing", str(exc))
        except GraphError as exc:
            if not exc.retryable or final_attempt:
                return _fail(message, str(exc.code or exc.http_status or "provider_error"), exc.message, exc=exc)
            # Raised after the commit, so the attempt count and the reason survive for the retry.
            retry = exc
            message.error_message = f"retrying: {exc.message}"[:2000]
            message.save(update_fields=["send_attempts", "error_message"])
        else:
            message.provider_message_id = result.provider_message_id
            message.error_message = ""
            status_apply(
                message=message,
                status=MessageStatus.SENT,
                at=timezone.now(),
                also=("send_attempts", "provider_message_id"),
            )
    if retry is not None:
        raise DeliveryRetry(retry)
    return "sent"


def _fail(message: Message, code: str, reason: str, exc: GraphError | None = None) -> str:
    if exc is not None and exc.outcome == errors.REVOKE_CONSENT:  # the contact before the seq row status_apply takes
        consent_revoke_for_error(message_id=message.pk, code=exc.code)
    status_apply(
        message=message,
        status=MessageStatus.FAILED,
        error_code=code,
        error_message=reason or code,
        also=("send_attempts",),
    )
    logger.info("conversations.message_failed", extra={"message_id": message.pk, "code": code})
    return "failed"


def consent_revoke_for_error(*, message_id: int, code: int) -> None:
    """Meta said the customer stopped marketing messages (131050): record it in the consent ledger."""
    from apps.contacts.services import consent_record

    message = Message.objects.select_related("conversation__contact__merchant", "channel").get(pk=message_id)
    consent_record(
        merchant=message.conversation.contact.merchant,
        contact=message.conversation.contact,
        channel=message.channel.kind,
        purpose="marketing",
        action="revoke",
        source="provider_error",
        wording=f"Meta refused a message with error {code}: the customer stopped marketing messages.",
        evidence_message_id=message.provider_message_id or str(message.pk),
        actor_label=f"{message.channel.kind} provider error {code}",
    )


def message_fail_stuck(*, message_id: int, reason: str) -> None:
    """Last resort for a task that crashed outside the provider call: show the failure on the message."""
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id, status=MessageStatus.QUEUED).first()
        if message is not None:
            status_apply(
                message=message, status=MessageStatus.FAILED, error_code="internal_error", error_message=reason
            )
