"""What an agent does to a conversation besides writing: assign, status, snooze, labels."""

from __future__ import annotations

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from apps.conversations import forms, services
from apps.conversations.models import Conversation
from apps.conversations.views.shared import back_to, conversation_for, error_text, inbox_members
from apps.core.permissions import member_required
from apps.core.roles import Capability


def _done(request: HttpRequest, conversation: Conversation, message: str) -> HttpResponse:
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Trigger"] = "conversation-changed"
        return response
    flash.success(request, message)
    return back_to(conversation)


def _failed(request: HttpRequest, conversation: Conversation, errors: dict | list | str) -> HttpResponse:
    text = error_text(errors)
    if request.htmx:
        return HttpResponse(text, status=422, content_type="text/plain; charset=utf-8")
    flash.error(request, text)
    return back_to(conversation)


@member_required(Capability.INBOX)
@require_POST
def conversation_assign(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = conversation_for(request, conversation_id)
    members = inbox_members(request.merchant)
    form = forms.AssignForm(request.POST, members=members)
    if not form.is_valid():
        return _failed(request, conversation, form.errors)
    user = next((m.user for m in members if m.user_id == form.cleaned_data["assignee"]), None)
    try:
        services.conversation_assign(conversation=conversation, assignee=user)
    except ValidationError as exc:
        return _failed(request, conversation, exc)
    return _done(request, conversation, f"Assigned to {user.display_name}." if user else "Unassigned.")


def _form_action(request: HttpRequest, conversation_id: int, form_class, apply, done_message) -> HttpResponse:
    """Validate `form_class`, run `apply(services, conversation, cleaned_data)`, answer like every inbox action."""
    conversation = conversation_for(request, conversation_id)
    form = form_class(request.POST)
    if not form.is_valid():
        return _failed(request, conversation, form.errors)
    try:
        apply(services, conversation, form.cleaned_data)
    except ValidationError as exc:
        return _failed(request, conversation, exc)
    return _done(request, conversation, done_message(form.cleaned_data))


@member_required(Capability.INBOX)
@require_POST
def conversation_status(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _form_action(
        request,
        conversation_id,
        forms.StatusForm,
        lambda services, conversation, data: services.conversation_set_status(
            conversation=conversation, status=data["status"]
        ),
        lambda data: f"Status: {data['status']}.",
    )


@member_required(Capability.INBOX)
@require_POST
def conversation_snooze(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _form_action(
        request,
        conversation_id,
        forms.SnoozeForm,
        lambda services, conversation, data: services.conversation_snooze(
            conversation=conversation, until=data["until"]
        ),
        lambda data: "Snoozed.",
    )


@member_required(Capability.INBOX)
@require_POST
def conversation_labels(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _form_action(
        request,
        conversation_id,
        forms.LabelsForm,
        lambda services, conversation, data: services.conversation_set_labels(
            conversation=conversation, labels=data["labels"]
        ),
        lambda data: "Labels saved.",
    )
