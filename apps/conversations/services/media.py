"""Inbound media: recorded as pending with the message, downloaded later by a task into default storage."""

from __future__ import annotations

import hashlib
import logging
import mimetypes

from django.core.files.base import ContentFile
from django.db import transaction

from apps.conversations import providers, uploads
from apps.conversations.models import Attachment, AttachmentStatus, Message
from apps.conversations.services.publish import message_publish
from apps.core.enqueue import enqueue_on_commit
from apps.meta import errors
from apps.meta.client import media_fetch
from apps.meta.errors import GraphError

logger = logging.getLogger(__name__)


class MediaRetry(Exception):
    pass


def attachments_create_pending(*, message: Message) -> list[int]:
    """Attachment rows for provider media still to download; ids for the fetch tasks."""
    return attachments_create_pending_many(messages=[message])


def attachments_create_pending_many(*, messages: list[Message]) -> list[int]:
    """The same for many messages, in one INSERT."""
    rows = [row for message in messages for row in _pending_rows(message)]
    return [row.pk for row in Attachment.objects.bulk_create(rows)] if rows else []


def _pending_rows(message: Message) -> list[Attachment]:
    return [
        Attachment(
            merchant_id=message.merchant_id,
            message=message,
            provider_media_id=str(item.get("media_id") or "")[:255],
            source_url=str(item.get("source_url") or ""),
            media_type=str(item.get("type") or "")[:20],
            mime_type=str(item.get("mime_type") or "")[:255],
            sha256=str(item.get("sha256") or "")[:128],
            filename=str(item.get("filename") or "")[:255],
        )
        for item in message.attachments or []
        if isinstance(item, dict) and (item.get("media_id") or item.get("source_url"))
    ]


def enqueue_fetches(attachment_ids: list[int]) -> None:
    for attachment_id in attachment_ids:
        enqueue_on_commit("apps.conversations.tasks.attachment_fetch_task", attachment_id)


def _download(attachment: Attachment) -> tuple[bytes, str]:
    if attachment.provider_media_id:
        # WhatsApp: only the Graph API's media endpoint says where the file is (Meta's lookaside host).
        client = providers.get_client(attachment.message.channel)
        info = client.media_url(attachment.provider_media_id)
        if not info.get("url"):
            raise GraphError(None, 200, "media answer without url", errors.FAIL)
        return client.media_download(str(info["url"])), str(info.get("mime_type") or attachment.mime_type)
    content, mime = media_fetch(attachment.source_url)
    return content, mime or attachment.mime_type


def attachment_fetch(*, attachment_id: int, final_attempt: bool = True) -> str:
    """Download one attachment. "stored" | "failed" | "skipped"; raises MediaRetry on transient errors."""
    attachment = Attachment.objects.select_related("message__channel").get(pk=attachment_id)
    if attachment.status == AttachmentStatus.STORED:
        return "skipped"
    attachment.attempts += 1
    try:
        content, mime = _download(attachment)
    except GraphError as exc:
        attachment.error = exc.message[:2000]
        logger.info("conversations.media_failed", extra={"attachment_id": attachment.pk, "reason": exc.message})
        if exc.retryable and not final_attempt:
            attachment.save(update_fields=["attempts", "error"])
            raise MediaRetry(exc.message) from None
        attachment.status = AttachmentStatus.FAILED
        attachment.save(update_fields=["attempts", "error", "status"])
        _sync_message(attachment)
        return "failed"
    if attachment.sha256 and len(attachment.sha256) == 64 and hashlib.sha256(content).hexdigest() != attachment.sha256:
        logger.warning("conversations.media_checksum_mismatch", extra={"attachment_id": attachment.pk})
    _store(attachment, content, mime)
    _sync_message(attachment)
    return "stored"


def _store(attachment: Attachment, content: bytes, mime: str) -> None:
    extension = mimetypes.guess_extension(mime or "") or ""
    # The name people see when they download it; on disk it gets a generated one (attachment_upload_to).
    attachment.filename = attachment.filename or f"{attachment.media_type or 'file'}-{attachment.pk}{extension}"
    attachment.file.save(attachment.filename, ContentFile(content), save=False)
    attachment.mime_type = mime or attachment.mime_type
    attachment.size = len(content)
    attachment.status = AttachmentStatus.STORED
    attachment.error = ""
    attachment.save(update_fields=["file", "filename", "mime_type", "size", "status", "error", "attempts"])


def _sync_message(attachment: Attachment) -> None:
    """Mirror the download state into the message's attachments list and tell the inbox."""
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=attachment.message_id)
        items = list(message.attachments or [])
        for item in items:
            if not isinstance(item, dict):
                continue
            same_media = attachment.provider_media_id and item.get("media_id") == attachment.provider_media_id
            same_url = attachment.source_url and item.get("source_url") == attachment.source_url
            if same_media or same_url:
                item["status"] = attachment.status
                item["attachment_id"] = attachment.pk
                item["url"] = uploads.attachment_url(attachment.pk) if attachment.file else ""
                item["error"] = attachment.error
        message.attachments = items
        message.save(update_fields=["attachments"])
        message_publish(message)
