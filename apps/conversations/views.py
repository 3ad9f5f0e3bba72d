"""The agent inbox: parse → selector/service → render (a partial when htmx asks)."""

from __future__ import annotations

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from apps.conversations import events, forms, panels, policy, selectors, services, uploads
from apps.conversations.models import (
    CannedResponse,
    Channel,
    ChannelKind,
    Conversation,
    Message,
)
from apps.core import inputs
from apps.core.body_limits import body_limited
from apps.core.downloads import download_response
from apps.core.permissions import member_required
from apps.core.roles import Capability, role_can
from apps.core.tenancy import access_object

LIST_LIMIT = 50
HISTORY_PAGE = 30


# --------------------------------------------------------------------------- reads
def _members(merchant):
    from apps.merchants.selectors import members_who_can

    return members_who_can(merchant=merchant, capability=Capability.INBOX)


def _channels(merchant):
    return list(selectors.channel_list(merchant=merchant))


def _history(conversation: Conversation, before: int | None = None) -> tuple[list[Message], bool]:
    page = selectors.message_history(conversation=conversation, before_id=before, limit=HISTORY_PAGE)
    return page.items, page.next_before_id is not None


def _conversation(request, conversation_id: int) -> Conversation:
    return access_object(
        Conversation,
        merchant=request.merchant,
        pk=conversation_id,
        queryset=Conversation.objects.select_related("contact", "channel", "assignee"),
    )


def _canned(merchant) -> list[dict]:
    return [
        {"shortcut": c.shortcut, "title": c.title, "body": c.body}
        for c in selectors.canned_response_list(merchant=merchant)
    ]


def _consents(conversation: Conversation):
    from apps.contacts.selectors import consent_state_list

    return list(consent_state_list(contact=conversation.contact))


def _send_block(conversation: Conversation, picked: dict | None = None) -> dict | None:
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


def _picked(conversation: Conversation, template, data=None, error: str = "") -> dict:
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


# --------------------------------------------------------------------------- pages
@member_required(Capability.INBOX)
@require_GET
def inbox(request, conversation_id: int | None = None):
    # Read the seq first: anything that happens while the page renders reaches the socket's resume.
    last_seq = events.last_seq(merchant_id=request.merchant.pk)
    members, channels = _members(request.merchant), _channels(request.merchant)
    query = request.GET.copy()
    query.setdefault("view", "mine")
    query.setdefault("status", "open")  # the default views show the work still to do
    filters = forms.InboxFilterForm(query, channels=channels, members=members)
    data = filters.cleaned_data if filters.is_valid() else {"view": "mine", "status": "open"}
    page = selectors.conversation_list(
        merchant=request.merchant,
        user=request.user,
        view=data.get("view") or "mine",
        status=data.get("status") or None,
        channel_id=data.get("channel"),
        label=data.get("label") or None,
        assignee_id=data.get("assignee"),
        search=data.get("q") or None,
        before=request.GET.get("before") or None,
        limit=LIST_LIMIT,
    )
    more_query = query.copy()
    more_query["before"] = page.next_cursor or ""
    context = {
        "filters": filters,
        "tab": data.get("view") or "mine",
        "rows": page.items,
        "more_url": f"{reverse('conversations:inbox')}?{more_query.urlencode()}" if page.next_cursor else "",
        "last_seq": last_seq,
        "can_manage_channels": role_can(request.membership.role, Capability.SETTINGS),
    }
    if request.htmx and request.GET.get("before"):
        return render(request, "conversations/_rows.html", context)
    if request.htmx and request.htmx.target == "conversation-list":
        return render(request, "conversations/_list.html", context)
    if conversation_id is not None:
        context.update(_conversation_context(request, _conversation(request, conversation_id), members))
    return render(request, "conversations/inbox.html", context)


def _conversation_context(request, conversation: Conversation, members) -> dict:
    history, has_older = _history(conversation)
    picked = None
    if request.GET.get("template_id"):  # the picker without JavaScript: a plain GET of this page
        template = selectors.template_for(
            merchant=request.merchant, channel=conversation.channel, template_id=request.GET["template_id"]
        )
        picked = _picked(conversation, template) if template is not None else None
    return {
        "conversation": conversation,
        "history": history,
        "has_older": has_older,
        "composer": forms.ComposerForm(),
        "assign_form": forms.AssignForm(initial={"assignee": conversation.assignee_id}, members=members),
        "status_form": forms.StatusForm(initial={"status": conversation.status}),
        "snooze_form": forms.SnoozeForm(),
        "labels_form": forms.LabelsForm(initial={"labels": ", ".join(conversation.labels or [])}),
        "send_block": _send_block(conversation, picked),
        "consents": _consents(conversation),
        "panels": panels.sidebar_panels(request=request, conversation=conversation),
        "canned": _canned(request.merchant),
    }


@member_required(Capability.INBOX)
@require_GET
def conversation(request, conversation_id: int):
    return inbox(request, conversation_id=conversation_id)


@member_required(Capability.INBOX)
@require_GET
def messages_older(request, conversation_id: int):
    conversation = _conversation(request, conversation_id)
    before = request.GET.get("before", "")
    history, has_older = _history(conversation, before=inputs.ascii_int(before))
    context = {"conversation": conversation, "history": history, "has_older": has_older}
    return render(request, "conversations/_history.html", context)


@member_required(Capability.INBOX)
@require_GET
def message_item(request, conversation_id: int, message_id: int):
    """One message as the history renders it (the live view asks for it when files need their links)."""
    conversation = _conversation(request, conversation_id)
    message = access_object(
        Message,
        merchant=request.merchant,
        pk=message_id,
        queryset=Message.objects.filter(conversation=conversation).select_related("author").prefetch_related("files"),
    )
    return render(request, "conversations/_message.html", {"conversation": conversation, "m": message})


@member_required(Capability.INBOX)
@require_GET
def composer(request, conversation_id: int):
    """A fresh composer: the page asks again when a customer message may have reopened the reply window."""
    conversation = _conversation(request, conversation_id)
    context = {"conversation": conversation, "composer": forms.ComposerForm(), "send_block": _send_block(conversation)}
    return render(request, "conversations/_composer.html", context)


@member_required(Capability.INBOX)
@require_GET
def conversation_row(request, conversation_id: int):
    conversation = _conversation(request, conversation_id)
    return render(request, "conversations/_row.html", {"c": conversation, "tab": request.GET.get("view", "all")})


# --------------------------------------------------------------------------- actions
def _back(conversation: Conversation):
    return redirect(reverse("conversations:conversation", args=[conversation.pk]))


def _done(request, conversation: Conversation, message: str):
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Trigger"] = "conversation-changed"
        return response
    flash.success(request, message)
    return _back(conversation)


def _failed(request, conversation: Conversation, errors: dict | list | str):
    text = _error_text(errors)
    if request.htmx:
        return HttpResponse(text, status=422, content_type="text/plain; charset=utf-8")
    flash.error(request, text)
    return _back(conversation)


def _error_text(errors) -> str:
    if isinstance(errors, ValidationError):
        errors = errors.message_dict if hasattr(errors, "error_dict") else errors.messages
    if isinstance(errors, dict):
        return " ".join(f"{field}: {' '.join(str(m) for m in msgs)}" for field, msgs in errors.items())
    return " ".join(errors) if isinstance(errors, list) else str(errors)


def _upload_refused(request, message: str) -> HttpResponse:
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


# The upload limit is installed before anything reads the form, CSRF's check included, so the CSRF
# check runs after it (csrf_protect) instead of in the middleware.
@csrf_exempt
@member_required(Capability.INBOX)
@require_POST
@body_limited(limit=uploads.MAX_UPLOAD_BYTES, refuse=_upload_refused)
@csrf_protect
def message_send(request, conversation_id: int):
    conversation = _conversation(request, conversation_id)
    form = forms.ComposerForm(request.POST, request.FILES)
    block, sent = None, False
    if form.is_valid():
        text = _expand_canned(request.merchant, form.cleaned_data["text"])
        try:
            with transaction.atomic():
                upload = form.cleaned_data.get("attachment")
                message = services.message_send(
                    conversation=conversation,
                    author=request.user,
                    text=text,
                    is_note=form.cleaned_data["is_note"],
                    attachments=[uploads.attachment_summary(upload, form.media_type)] if upload else None,
                )
                if upload:
                    uploads.attachment_store(message=message, upload=upload, media_type=form.media_type)
        except policy.PolicyRefused as exc:
            block = _block(conversation, exc.code, exc.message)
        except ValidationError as exc:
            form.add_error(None, _error_text(exc))
        else:
            form, sent = forms.ComposerForm(), True
    if not request.htmx:
        if sent:
            return _back(conversation)
        flash.error(request, block["message"] if block else _error_text(form.errors))
        return _back(conversation)
    context = {"conversation": conversation, "composer": form, "send_block": block or _send_block(conversation)}
    return render(request, "conversations/_composer.html", context, status=200 if sent else 422)


@member_required(Capability.INBOX)
@require_GET
def template_form(request, conversation_id: int):
    """The chosen template's variables (prefilled from the contact) and its preview; `?preview=1` answers
    only the preview as the agent types."""
    conversation = _conversation(request, conversation_id)
    template = selectors.template_for(
        merchant=request.merchant, channel=conversation.channel, template_id=request.GET.get("template_id")
    )
    if template is None:
        return HttpResponse("")  # "choose a template" again, or a template that is no longer approved
    typed = request.GET if any(k.startswith("param_") for k in request.GET) else None
    context = {"conversation": conversation, "picked": _picked(conversation, template, typed)}
    name = "_template_preview.html" if request.GET.get("preview") else "_template_form.html"
    return render(request, f"conversations/{name}", context)


@member_required(Capability.INBOX)
@require_POST
def template_send(request, conversation_id: int):
    conversation = _conversation(request, conversation_id)
    template = selectors.template_for(
        merchant=request.merchant, channel=conversation.channel, template_id=request.POST.get("template_id")
    )
    picked, sent = None, False
    if template is None:
        error = "Choose one of the approved templates."
    else:
        picked = _picked(conversation, template, request.POST)
        error = ""
        try:
            services.message_send(
                conversation=conversation, author=request.user, template=template, template_params=picked["params"]
            )
        except (policy.PolicyRefused, ValidationError) as exc:
            error = exc.message if isinstance(exc, policy.PolicyRefused) else _error_text(exc)
            picked["error"] = error
        else:
            sent = True
    if not request.htmx:
        if not sent:
            flash.error(request, error)
        return _back(conversation)
    block = _send_block(conversation, None if sent else picked)
    if not sent and block is None:  # the reply window reopened meanwhile; still say why the template failed
        block = _block(conversation, "template_refused", "" if picked else error, picked)
    elif not sent and picked is None:
        block["error"] = error
    context = {"conversation": conversation, "composer": forms.ComposerForm(), "send_block": block}
    return render(request, "conversations/_composer.html", context, status=200 if sent else 422)


def _expand_canned(merchant, text: str) -> str:
    """A message that is exactly `/shortcut` becomes the canned response (the script expands as you type)."""
    stripped = text.strip()
    if stripped.startswith("/") and " " not in stripped:
        canned = CannedResponse.objects.for_merchant(merchant).filter(shortcut=stripped[1:]).first()
        if canned:
            return canned.body
    return text


@member_required(Capability.INBOX)
@require_POST
def conversation_assign(request, conversation_id: int):
    conversation = _conversation(request, conversation_id)
    members = _members(request.merchant)
    form = forms.AssignForm(request.POST, members=members)
    if not form.is_valid():
        return _failed(request, conversation, form.errors)
    user = next((m.user for m in members if m.user_id == form.cleaned_data["assignee"]), None)
    try:
        services.conversation_assign(conversation=conversation, assignee=user)
    except ValidationError as exc:
        return _failed(request, conversation, exc)
    return _done(request, conversation, f"Assigned to {user.display_name}." if user else "Unassigned.")


def _form_action(request, conversation_id: int, form_class, apply, done_message):
    """Validate `form_class`, run `apply(services, conversation, cleaned_data)`, answer like every inbox action."""
    conversation = _conversation(request, conversation_id)
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
def conversation_status(request, conversation_id: int):
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
def conversation_snooze(request, conversation_id: int):
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
def conversation_labels(request, conversation_id: int):
    return _form_action(
        request,
        conversation_id,
        forms.LabelsForm,
        lambda services, conversation, data: services.conversation_set_labels(
            conversation=conversation, labels=data["labels"]
        ),
        lambda data: "Labels saved.",
    )


@member_required(Capability.INBOX)
@require_GET
def attachment_download(request, attachment_id: int):
    attachment = selectors.attachment_stored(merchant=request.merchant, attachment_id=attachment_id)
    return download_response(attachment.file.open("rb"), filename=attachment.filename)


# --------------------------------------------------------------------------- web-chat channels and the snippet
@member_required(Capability.SETTINGS)
@require_GET
def channel_list(request):
    channels = Channel.objects.for_merchant(request.merchant).filter(kind=ChannelKind.WEBCHAT).order_by("name")
    return render(request, "conversations/channels.html", {"channels": channels})


@member_required(Capability.SETTINGS)
def widget_settings(request, channel_id: int):
    channel = access_object(Channel, merchant=request.merchant, pk=channel_id)
    if channel.kind != ChannelKind.WEBCHAT:
        raise Http404("Only web-chat channels have a widget.")
    initial = {"allowed_origins": "\n".join(channel.allowed_origins or []), **(channel.settings or {})}
    form = forms.WidgetSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        _widget_settings_save(channel, form.cleaned_data)
        flash.success(request, "Widget settings saved.")
        return redirect("conversations:widget_settings", channel_id=channel.pk)
    script_url = request.build_absolute_uri(reverse("conversations:widget_js", args=[channel.public_key]))
    snippet = f'<script src="{script_url}" async></script>'
    context = {"channel": channel, "form": form, "snippet": snippet}
    return render(request, "conversations/widget_settings.html", context, status=400 if form.errors else 200)


def _widget_settings_save(channel: Channel, data: dict) -> None:
    widget_settings = {k: v for k, v in data.items() if k != "allowed_origins"}
    services.channel_widget_settings_update(
        channel=channel, allowed_origins=data["allowed_origins"], widget_settings=widget_settings
    )
