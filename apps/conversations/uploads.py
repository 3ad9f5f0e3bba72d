"""Files agents and customers attach: the size and type allowlist, and keeping the file with its message."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from apps.conversations.models import Attachment, AttachmentStatus, Message
from apps.core import filetypes, inputs

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
ALLOWED_UPLOAD_TYPES = {
    "image/jpeg": "image",
    "image/png": "image",
    "image/gif": "image",
    "image/webp": "image",
    "application/pdf": "document",
    "text/plain": "document",
    "audio/mpeg": "audio",
    "audio/ogg": "audio",
    "video/mp4": "video",
}


def upload_head(upload, size: int = filetypes.HEAD_BYTES) -> bytes:
    head = upload.read(size)
    upload.seek(0)
    return head


def upload_validate(*, name: str, content_type: str, size: int, head: bytes) -> str:
    """The media type for an acceptable upload; ValidationError naming the reason otherwise.

    The declared type must be what the bytes are: a page declared as "text/plain" or renamed
    "photo.png" is refused instead of being stored and handed to agents.
    """
    for label, text in (("name", name), ("type", content_type or "")):
        problem = inputs.text_problem(text)
        if problem:
            raise ValidationError({"file": [f"The file's {label}: {problem}"]})
    if size > MAX_UPLOAD_BYTES:
        raise ValidationError({"file": [f"“{name}” is {size // 1024} KB; files may be at most 10 MB."]})
    if size == 0:
        raise ValidationError({"file": [f"“{name}” is empty."]})
    mime = (content_type or "").split(";")[0].strip().lower()
    kind = ALLOWED_UPLOAD_TYPES.get(mime)
    if kind is None:
        allowed = ", ".join(sorted(ALLOWED_UPLOAD_TYPES))
        raise ValidationError({"file": [f"“{name}” has type {content_type or 'unknown'}; allowed types: {allowed}."]})
    if filetypes.sniff(head) != mime:
        raise ValidationError({"file": [f"“{name}” is not really {mime}: its content does not match its type."]})
    return kind


def attachment_summary(upload, media_type: str) -> dict:
    """What the message's `attachments` list (and so its live event) says about an uploaded file."""
    return {"type": media_type, "filename": upload.name[:255], "mime_type": upload.content_type, "size": upload.size}


def attachment_store(*, message: Message, upload, media_type: str) -> Attachment:
    """Keep an uploaded file with its message (validated by the caller: size and type allowlist)."""
    attachment = Attachment(
        merchant_id=message.merchant_id,
        message=message,
        media_type=media_type,
        mime_type=upload.content_type,
        filename=upload.name[:255],
        size=upload.size,
        status=AttachmentStatus.STORED,
    )
    attachment.file.save(upload.name, upload, save=False)  # stored under a generated name (attachment_upload_to)
    attachment.save()
    _summary_link(message, attachment)
    return attachment


def _summary_link(message: Message, attachment: Attachment) -> None:
    """Point the message's summary of this file at the stored row, so the API publishes its download URL."""
    items = [dict(item) if isinstance(item, dict) else item for item in message.attachments or []]
    for item in items:
        if isinstance(item, dict) and not item.get("attachment_id") and item.get("filename") == attachment.filename:
            item.update(attachment_id=attachment.pk, status=AttachmentStatus.STORED)
            break
    message.attachments = items
    Message.objects.filter(pk=message.pk).update(attachments=items)


FILE_SALT = "conversations.widget.file"
# A link is handed out with each history load and live event, so it need not outlive a visit by much.
FILE_MAX_AGE = 60 * 60 * 24


def attachment_url(attachment_id: int) -> str:
    """Where members and API keys download a stored file (the only way to it: there is no public media URL)."""
    from django.urls import reverse

    return reverse("api:attachment-file", args=[attachment_id])


def attachments_published(items: list) -> list:
    """A message's `attachments` as the API and live events show them: links to the authorised download."""
    out = []
    for item in items or []:
        if isinstance(item, dict):
            item = {key: value for key, value in item.items() if key != "url"}
            if item.get("attachment_id") and item.get("status") == AttachmentStatus.STORED:
                item["url"] = attachment_url(item["attachment_id"])
        out.append(item)
    return out


def widget_file_path(*, channel, conversation_id: int, attachment_id: int) -> str:
    """A capability path for one file of one widget conversation (the customer has no session)."""
    from django.core import signing
    from django.urls import reverse

    signed = signing.dumps({"a": attachment_id, "c": channel.pk, "v": conversation_id}, salt=FILE_SALT)
    return reverse("conversations:widget_file", args=[channel.public_key, signed])


def widget_file_read(*, channel, signed: str) -> Attachment | None:
    """The stored, customer-visible attachment behind a signed, unexpired path of this channel's
    conversation, or None."""
    from django.core import signing

    try:
        data = signing.loads(signed, salt=FILE_SALT, max_age=FILE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("c") != channel.pk or not data.get("v"):
        return None
    return (
        Attachment.objects.for_merchant(channel.merchant_id)
        .filter(pk=data.get("a"), message__channel=channel, message__conversation_id=data["v"])
        .filter(status=AttachmentStatus.STORED)
        .exclude(message__kind="note")
        .exclude(file="")
        .first()
    )


def widget_file_links(*, channel, message_ids: list[int]) -> dict[int, list[dict]]:
    """message id → [{filename, url}] for the stored files of these messages."""
    rows = (
        Attachment.objects.for_merchant(channel.merchant_id)
        .filter(message_id__in=message_ids, message__channel=channel, status=AttachmentStatus.STORED)
        .exclude(message__kind="note")
        .exclude(file="")
        .order_by("id")
    )
    out: dict[int, list[dict]] = {}
    for attachment in rows.select_related("message"):
        url = widget_file_path(
            channel=channel, conversation_id=attachment.message.conversation_id, attachment_id=attachment.pk
        )
        link = {"filename": attachment.filename, "url": url}
        out.setdefault(attachment.message_id, []).append(link)
    return out
