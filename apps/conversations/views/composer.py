"""The composer: free text (with a file), or a template when the reply window is closed."""

from __future__ import annotations

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from apps.conversations import forms, policy, selectors, services, uploads
from apps.conversations.models import ChannelKind, Conversation
from apps.conversations.views.shared import back_to, conversation_for, error_text
from apps.core.body_limits import body_limited
from apps.core.permissions import member_required
from apps.core.roles import Capability


def send_block(conversation: Conversation, picked: dict | None = None) -> dict | None:
    """Why a free-text reply would be refused right now, with the templates that could be sent instead."""
    decision = policy.send_policy_check(
        conversation=conversation, now=timezone.now(), is_template=False, automated=False, human_agent=True
    )
    if decision.allowed:
        return None
    return _block(conversation, decision.code, decision.message, picked)


def _block(conversation: Conversation, code: str, message: str, picked: dict | None = None) -> dict:
    templates = _templates(conversation)
    return {"code": code, "message": message, "templates": templates, "picked": picked}


def _templates(conversation: Conversation) -> list:
    if conversation.channel.kind != ChannelKind.WHATSAPP:
        return []  # only WhatsApp sends templates: offering one elsewhere would only be refused
    return selectors.templates_for(merchant=conversation.merchant, channel=conversation.channel)


def picked_template(conversation: Conversation, template, data=None, error: str = "") -> dict:
    """The template form's state: each variable with its value (posted, else from the contact) and the preview."""
    prefill = selectors.template_prefill(template=template, contact=conversation.contact)
    values = {
        name: (str(data.get(f"param_{name}", ""))[:1024] if data is not None else prefill[name]) for name in prefill
    }
    return {
        "template": template,
        "fields": [{"name": name, "value": value, "input": f"param_{name}"} for name, value in values.items()],
        "params": values,
        "preview": policy.template_render(template, {k: v or "{{" + k + "}}" for k, v in values.items()}),
        "error": error,
    }


@member_required(Capability.INBOX)
@require_GET
def composer(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """A fresh composer: the page asks again when a customer message may have reopened the reply window."""
    conversation = conversation_for(request, conversation_id)
    context = {"conversation": conversation, "composer": forms.ComposerForm(), "send_block": send_block(conversation)}
    return render(request, "conversations/_composer.html", context)


def _upload_refused(request: HttpRequest, message: str) -> HttpResponse:
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


# The upload limit is installed before anything reads the form, CSRF's check included, so the CSRF
# check runs after it (csrf_protect) instead of in the middleware.
@csrf_exempt
@member_required(Capability.INBOX)
@require_POST
@body_limited(limit=uploads.MAX_UPLOAD_BYTES, refuse=_upload_refused)
@csrf_protect
def message_send(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = conversation_for(request, conversation_id)
    form = forms.ComposerForm(request.POST, request.FILES)
    block, sent = None, False
    if form.is_valid():
        try:
            services.composer_send(
                conversation=conversation,
                author=request.user,
                text=form.cleaned_data["text"],
                is_note=form.cleaned_data["is_note"],
                upload=form.cleaned_data.get("attachment"),
                media_type=form.media_type,
            )
        except policy.PolicyRefused as exc:
            block = _block(conversation, exc.code, exc.message)
        except ValidationError as exc:
            form.add_error(None, error_text(exc))
        else:
            form, sent = forms.ComposerForm(), True
    if not request.htmx:
        if sent:
            return back_to(conversation)
        flash.error(request, block["message"] if block else error_text(form.errors))
        return back_to(conversation)
    context = {"conversation": conversation, "composer": form, "send_block": block or send_block(conversation)}
    return render(request, "conversations/_composer.html", context, status=200 if sent else 422)


@member_required(Capability.INBOX)
@require_GET
def template_form(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The chosen template's variables (prefilled from the contact) and its preview; `?preview=1` answers
    only the preview as the agent types."""
    conversation = conversation_for(request, conversation_id)
    template = selectors.template_for(
        merchant=request.merchant, channel=conversation.channel, template_id=request.GET.get("template_id")
    )
    if template is None:
        return HttpResponse("")  # "choose a template" again, or a template that is no longer approved
    typed = request.GET if any(k.startswith("param_") for k in request.GET) else None
    context = {"conversation": conversation, "picked": picked_template(conversation, template, typed)}
    name = "_template_preview.html" if request.GET.get("preview") else "_template_form.html"
    return render(request, f"conversations/{name}", context)


@member_required(Capability.INBOX)
@require_POST
def template_send(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = conversation_for(request, conversation_id)
    template = selectors.template_for(
        merchant=request.merchant, channel=conversation.channel, template_id=request.POST.get("template_id")
    )
    picked, sent = None, False
    if template is None:
        error = "Choose one of the approved templates."
    else:
        picked = picked_template(conversation, template, request.POST)
        error = ""
        try:
            services.message_send(
                conversation=conversation, author=request.user, template=template, template_params=picked["params"]
            )
        except (policy.PolicyRefused, ValidationError) as exc:
            error = exc.message if isinstance(exc, policy.PolicyRefused) else error_text(exc)
            picked["error"] = error
        else:
            sent = True
    if not request.htmx:
        if not sent:
            flash.error(request, error)
        return back_to(conversation)
    block = send_block(conversation, None if sent else picked)
    if not sent and block is None:  # the reply window reopened meanwhile; still say why the template failed
        block = _block(conversation, "template_refused", "" if picked else error, picked)
    elif not sent and picked is None:
        block["error"] = error
    context = {"conversation": conversation, "composer": forms.ComposerForm(), "send_block": block}
    return render(request, "conversations/_composer.html", context, status=200 if sent else 422)
