"""Routes of the conversations app for tests/test_tenancy_sweep.py.

Builders create the owner's objects named with SWEEP-SECRET. The live/UI helper appends its routes to
ROUTES and EXEMPT below (small edits; keep one entry per line).
"""

from apps.conversations.models import Message
from tests.factories.conversations import CannedResponseFactory, ChannelFactory, ConversationFactory

SECRET = "SWEEP-SECRET"


def _channel(owner, kind="whatsapp"):
    return ChannelFactory(merchant=owner, kind=kind, name=SECRET)


def _conversation(owner):
    conversation = ConversationFactory(
        merchant=owner, channel=_channel(owner), contact__name=SECRET, labels=[SECRET], last_message_preview=SECRET
    )
    Message.objects.create(
        merchant=owner, conversation=conversation, channel=conversation.channel, direction="inbound",
        author_kind="contact", body=SECRET, status="received", provider_message_id=f"sweep-{conversation.pk}",
    )  # fmt: skip
    return conversation


def _attachment(owner):
    from django.core.files.base import ContentFile

    from apps.conversations.models import Attachment

    message = _conversation(owner).messages.get()
    attachment = Attachment(merchant=owner, message=message, filename=SECRET, mime_type="text/plain", status="stored")
    attachment.file.save("sweep.txt", ContentFile(SECRET.encode()), save=False)
    attachment.save()
    return attachment.pk


def _message_item(owner):
    message = _conversation(owner).messages.get()
    return {"conversation_id": message.conversation_id, "message_id": message.pk}


def _conversation_pk(owner):
    return {"pk": _conversation(owner).pk}


ROUTES = {
    "api:channel-detail": lambda owner: {"pk": _channel(owner).pk},
    "api:conversation-detail": _conversation_pk,
    "api:conversation-messages": _conversation_pk,
    "api:canned-response-detail": lambda owner: {
        "pk": CannedResponseFactory(merchant=owner, title=SECRET, body=SECRET).pk
    },
    "conversations:conversation": lambda owner: {"conversation_id": _conversation(owner).pk},
    "conversations:messages_older": lambda owner: {"conversation_id": _conversation(owner).pk},
    "conversations:conversation_row": lambda owner: {"conversation_id": _conversation(owner).pk},
    "conversations:message_send": lambda owner: {"conversation_id": _conversation(owner).pk},
    "conversations:composer": lambda owner: {"conversation_id": _conversation(owner).pk},
    "conversations:template_form": lambda owner: {"conversation_id": _conversation(owner).pk},
    "conversations:template_send": lambda owner: {"conversation_id": _conversation(owner).pk},
    "conversations:message_item": _message_item,
    "conversations:assign": lambda owner: {"conversation_id": _conversation(owner).pk},
    "conversations:status": lambda owner: {"conversation_id": _conversation(owner).pk},
    "conversations:snooze": lambda owner: {"conversation_id": _conversation(owner).pk},
    "conversations:labels": lambda owner: {"conversation_id": _conversation(owner).pk},
    "conversations:attachment": lambda owner: {"attachment_id": _attachment(owner)},
    "api:attachment-file": lambda owner: {"pk": _attachment(owner)},
    "conversations:widget_settings": lambda owner: {"channel_id": _channel(owner, kind="webchat").pk},
    "conversations:widget_preview": lambda owner: {"channel_id": _channel(owner, kind="webchat").pk},
    "conversations:channel_edit": lambda owner: {"channel_id": _channel(owner).pk},
    "conversations:channel_check": lambda owner: {"channel_id": _channel(owner).pk},
    "conversations:channel_toggle": lambda owner: {"channel_id": _channel(owner).pk},
    "conversations:channel_delete": lambda owner: {"channel_id": _channel(owner).pk},
}

EXEMPT = {
    "conversations_webhook_whatsapp": "authorised by Meta signature (X-Hub-Signature-256, channel's app secret)",
    "conversations_webhook_messenger": "authorised by Meta signature (X-Hub-Signature-256, channel's app secret)",
    "conversations:widget_js": "public widget script, addressed by the channel's public key; carries no data",
    "conversations:widget_session": "widget: channel public key + allowed Origin + signed visitor token",
    "conversations:widget_prechat": "widget: channel public key + allowed Origin + signed visitor token",
    "conversations:widget_upload": "widget: channel public key + allowed Origin + signed visitor token",
    "conversations:widget_file": "widget: a signed per-file path handed only to that conversation's widget",
    "demo:shop": "public demo page, addressed by the widget's public key; only widgets with demo_shop set",
}

SOCKET_EXEMPT = {
    "ws/inbox/": "no object id: streams the member's own merchant, resolved by MemberSocket.member_connect",
    "^ws/widget/(?P<public_key>[A-Za-z0-9_-]{8,64})/$": "public widget: channel public key + allowed Origin + "
    "signed visitor token (unknown key: 4404)",
}
