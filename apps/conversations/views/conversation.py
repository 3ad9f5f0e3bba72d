"""The open conversation's pane: its history, one message, its sidebar, its files."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.conversations import forms, panels, selectors
from apps.conversations.models import Conversation, Message
from apps.conversations.views.composer import picked_template, send_block
from apps.conversations.views.shared import conversation_for
from apps.core import inputs
from apps.core.downloads import download_response
from apps.core.permissions import member_required
from apps.core.roles import Capability
from apps.core.tenancy import access_object

HISTORY_PAGE = 30


def _history(conversation: Conversation, before: int | None = None) -> tuple[list[Message], bool]:
    page = selectors.message_history(conversation=conversation, before_id=before, limit=HISTORY_PAGE)
    return page.items, page.next_before_id is not None


def _canned(merchant) -> list[dict]:
    return [
        {"shortcut": c.shortcut, "title": c.title, "body": c.body}
        for c in selectors.canned_response_list(merchant=merchant)
    ]


def _consents(conversation: Conversation) -> list:
    from apps.contacts.selectors import consent_state_list

    return list(consent_state_list(contact=conversation.contact))


def conversation_context(request: HttpRequest, conversation: Conversation, members) -> dict:
    """Everything the inbox page needs to show `conversation` open beside the list."""
    history, has_older = _history(conversation)
    picked = None
    if request.GET.get("template_id"):  # the picker without JavaScript: a plain GET of this page
        template = selectors.template_for(
            merchant=request.merchant, channel=conversation.channel, template_id=request.GET["template_id"]
        )
        picked = picked_template(conversation, template) if template is not None else None
    return {
        "conversation": conversation,
        "history": history,
        "has_older": has_older,
        "composer": forms.ComposerForm(),
        "assign_form": forms.AssignForm(initial={"assignee": conversation.assignee_id}, members=members),
        "status_form": forms.StatusForm(initial={"status": conversation.status}),
        "snooze_form": forms.SnoozeForm(),
        "labels_form": forms.LabelsForm(initial={"labels": ", ".join(conversation.labels or [])}),
        "send_block": send_block(conversation, picked),
        "consents": _consents(conversation),
        "panels": panels.sidebar_panels(request=request, conversation=conversation),
        "canned": _canned(request.merchant),
    }


@member_required(Capability.INBOX)
@require_GET
def messages_older(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = conversation_for(request, conversation_id)
    before = inputs.ascii_int(request.GET.get("before", ""))
    if before is None:  # the newest page prepended above itself would repeat it
        return HttpResponseBadRequest("Give `before`: the id of the oldest message shown.")
    history, has_older = _history(conversation, before=before)
    context = {"conversation": conversation, "history": history, "has_older": has_older}
    return render(request, "conversations/_history.html", context)


@member_required(Capability.INBOX)
@require_GET
def message_item(request: HttpRequest, conversation_id: int, message_id: int) -> HttpResponse:
    """One message as the history renders it (the live view asks for it when files need their links)."""
    conversation = conversation_for(request, conversation_id)
    message = access_object(
        Message,
        merchant=request.merchant,
        pk=message_id,
        queryset=Message.objects.filter(conversation=conversation).select_related("author").prefetch_related("files"),
    )
    return render(request, "conversations/_message.html", {"conversation": conversation, "m": message})


@member_required(Capability.INBOX)
@require_GET
def attachment_download(request: HttpRequest, attachment_id: int) -> HttpResponse:
    attachment = selectors.attachment_stored(merchant=request.merchant, attachment_id=attachment_id)
    return download_response(attachment.file.open("rb"), filename=attachment.filename)
