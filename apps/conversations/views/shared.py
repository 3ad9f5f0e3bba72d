"""What several inbox screens look up or answer alike."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse

from apps.conversations.models import Conversation
from apps.core.roles import Capability
from apps.core.tenancy import access_object


def inbox_members(merchant) -> list:
    """The members who may be assigned a conversation."""
    from apps.merchants.selectors import members_who_can

    return members_who_can(merchant=merchant, capability=Capability.INBOX)


def conversation_for(request: HttpRequest, conversation_id: int) -> Conversation:
    return access_object(
        Conversation,
        merchant=request.merchant,
        pk=conversation_id,
        queryset=Conversation.objects.select_related("contact", "channel", "assignee"),
    )


def back_to(conversation: Conversation) -> HttpResponseRedirect:
    return redirect(reverse("conversations:conversation", args=[conversation.pk]))


def error_text(errors) -> str:
    if isinstance(errors, ValidationError):
        errors = errors.message_dict if hasattr(errors, "error_dict") else errors.messages
    if isinstance(errors, dict):
        return " ".join(f"{field}: {' '.join(str(m) for m in msgs)}" for field, msgs in errors.items())
    return " ".join(errors) if isinstance(errors, list) else str(errors)
