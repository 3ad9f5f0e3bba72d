"""Settings → Channels: connect WhatsApp numbers and Messenger pages, web-chat widgets, switch off, delete.

Every rule a channel's fields obey is the channels service's (the API uses the same); these views parse the
form, call the service and show its errors on the fields.
"""

from __future__ import annotations

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.conversations import forms, providers, selectors, services
from apps.conversations.models import Channel, ChannelKind
from apps.core.permissions import member_required
from apps.core.roles import Capability
from apps.core.tenancy import access_object

META_KINDS = (ChannelKind.WHATSAPP, ChannelKind.MESSENGER)


@member_required(Capability.SETTINGS)
@require_GET
def channel_list(request: HttpRequest) -> HttpResponse:
    channels = list(selectors.channel_list(merchant=request.merchant))
    groups = [(label, [c for c in channels if c.kind == kind]) for kind, label in ChannelKind.choices]
    return render(request, "conversations/channels.html", {"groups": groups})


def _form_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@member_required(Capability.SETTINGS)
@require_http_methods(["GET", "POST"])
def channel_connect(request: HttpRequest, kind: str) -> HttpResponse:
    form = forms.ChannelConnectForm(request.POST or None, kind=kind)
    if request.method == "POST" and form.is_valid():
        try:
            channel = services.channel_connection_save(
                channel=Channel(merchant=request.merchant, kind=kind), **form.values()
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            flash.success(request, f"{channel.name} is connected. Paste the callback URL and verify token into Meta.")
            return redirect("conversations:channel_edit", channel_id=channel.pk)
    context = {"form": form, "kind": kind, "kind_label": ChannelKind(kind).label, "channel": None}
    return render(request, "conversations/channel_form.html", context, status=400 if form.errors else 200)


def _meta_channel(request: HttpRequest, channel_id: int) -> Channel:
    channel = access_object(Channel, merchant=request.merchant, pk=channel_id)
    if channel.kind not in META_KINDS:
        raise Http404("Web-chat widgets have their own page.")
    return channel


def _edit_context(request: HttpRequest, channel: Channel, form, check=None) -> dict:
    return {
        "form": form,
        "kind": channel.kind,
        "kind_label": channel.get_kind_display(),
        "channel": channel,
        "webhook_url": request.build_absolute_uri(channel.webhook_path),
        "check": check,
    }


def _edit_form(channel: Channel, data=None) -> forms.ChannelConnectForm:
    initial = {
        "name": channel.name,
        "phone_number_id": channel.phone_number_id,
        "page_id": channel.page_id,
        "waba_id": (channel.settings or {}).get("waba_id", ""),
    }
    return forms.ChannelConnectForm(data, kind=channel.kind, channel=channel, initial=initial)


@member_required(Capability.SETTINGS)
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _meta_channel(request, channel_id)
    form = _edit_form(channel, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.channel_connection_save(channel=channel, **form.values())
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            flash.success(request, "Channel saved.")
            return redirect("conversations:channel_edit", channel_id=channel.pk)
    context = _edit_context(request, channel, form)
    return render(request, "conversations/channel_form.html", context, status=400 if form.errors else 200)


@member_required(Capability.SETTINGS)
@require_POST
def channel_check(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Ask Meta about the number or page with the stored token; the answer (or why not) in plain words."""
    channel = _meta_channel(request, channel_id)
    check = providers.connection_check(channel)
    if request.htmx:
        return render(request, "conversations/_channel_check.html", {"check": check, "channel": channel})
    context = _edit_context(request, channel, _edit_form(channel), check)
    return render(request, "conversations/channel_form.html", context)


@member_required(Capability.SETTINGS)
@require_http_methods(["GET", "POST"])
def channel_toggle(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = access_object(Channel, merchant=request.merchant, pk=channel_id)
    if request.method == "POST":
        services.channel_set_active(channel=channel, is_active=not channel.is_active)
        flash.success(request, f"{channel.name} is {'enabled' if channel.is_active else 'disabled'}.")
        return redirect("conversations:channels")
    return render(request, "conversations/channel_toggle.html", {"channel": channel})


@member_required(Capability.SETTINGS)
@require_http_methods(["GET", "POST"])
def channel_delete(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Only a channel without conversations is deleted: history is kept, so one with some is disabled instead."""
    channel = access_object(Channel, merchant=request.merchant, pk=channel_id)
    conversations = selectors.channel_conversation_count(channel=channel)
    if request.method == "POST" and not conversations:
        try:
            services.channel_delete(channel=channel)
        except services.ChannelInUse:  # a conversation arrived since the count: the same refusal
            conversations = selectors.channel_conversation_count(channel=channel)
        else:
            flash.success(request, f"{channel.name} is deleted.")
            return redirect("conversations:channels")
    context = {"channel": channel, "conversations": conversations}
    status = 409 if request.method == "POST" else 200
    return render(request, "conversations/channel_delete.html", context, status=status)


# --------------------------------------------------------------------------- web chat
def _snippet(request: HttpRequest, channel: Channel) -> str:
    script_url = request.build_absolute_uri(reverse("conversations:widget_js", args=[channel.public_key]))
    return f'<script src="{script_url}" async></script>'


@member_required(Capability.SETTINGS)
@require_http_methods(["GET", "POST"])
def widget_new(request: HttpRequest) -> HttpResponse:
    form = forms.WidgetSettingsForm(request.POST or None, initial={"prechat_name": "optional"})
    if request.method == "POST" and form.is_valid():
        try:
            channel = services.channel_create(
                merchant=request.merchant,
                kind=ChannelKind.WEBCHAT,
                name=form.cleaned_data["name"],
                allowed_origins=form.cleaned_data["allowed_origins"],
                settings=form.widget_settings(),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            flash.success(request, "Widget created. Paste the snippet on your site.")
            return redirect("conversations:widget_settings", channel_id=channel.pk)
    context = {"form": form, "channel": None}
    return render(request, "conversations/widget_settings.html", context, status=400 if form.errors else 200)


def _webchat(request: HttpRequest, channel_id: int) -> Channel:
    channel = access_object(Channel, merchant=request.merchant, pk=channel_id)
    if channel.kind != ChannelKind.WEBCHAT:
        raise Http404("Only web-chat channels have a widget.")
    return channel


@member_required(Capability.SETTINGS)
@require_http_methods(["GET", "POST"])
def widget_settings(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _webchat(request, channel_id)
    form = forms.WidgetSettingsForm(request.POST or None, initial=forms.WidgetSettingsForm.initial_for(channel))
    if request.method == "POST" and form.is_valid():
        try:
            services.channel_widget_settings_update(
                channel=channel,
                name=form.cleaned_data["name"],
                allowed_origins=form.cleaned_data["allowed_origins"],
                widget_settings=form.widget_settings(),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            flash.success(request, "Widget settings saved.")
            return redirect("conversations:widget_settings", channel_id=channel.pk)
    context = {"channel": channel, "form": form, "snippet": _snippet(request, channel)}
    return render(request, "conversations/widget_settings.html", context, status=400 if form.errors else 200)


@member_required(Capability.SETTINGS)
@require_GET
def widget_preview(request: HttpRequest, channel_id: int) -> HttpResponse:
    """The real widget script on a page of the portal (whose origin every widget accepts): try it as a customer."""
    channel = _webchat(request, channel_id)
    return render(request, "conversations/widget_preview.html", {"channel": channel})


@require_GET
def demo_shop(request: HttpRequest, public_key: str) -> HttpResponse:
    """A fake shop (Tienda Sol) showing a widget, for whoever has the address; only widgets that allow it."""
    channel = selectors.widget_channel(public_key=public_key)
    if channel is None or not (channel.settings or {}).get("demo_shop"):
        raise Http404("No demo shop for this widget.")
    return render(request, "conversations/demo_shop.html", {"channel": channel, "products": DEMO_PRODUCTS})


@require_GET
def demo_shop_only(request: HttpRequest) -> HttpResponse:
    """/demo-shop/ (the address `make run` prints): the one demo shop, when exactly one widget offers it."""
    public_keys = list(selectors.demo_shop_channels().values_list("public_key", flat=True)[:2])
    if len(public_keys) != 1:
        raise Http404("No single demo shop here: open one from its widget's settings page.")
    return redirect("demo:shop", public_key=public_keys[0])


DEMO_PRODUCTS = [
    {"name": "Sombrero de paja", "price": "24,90 €", "blurb": "Hand-woven straw hat, wide brim."},
    {"name": "Gafas de sol Brisa", "price": "39,00 €", "blurb": "Polarised lenses, bamboo frame."},
    {"name": "Toalla de playa Ola", "price": "18,50 €", "blurb": "Cotton, 90 by 180 cm, sand-proof weave."},
    {"name": "Crema solar SPF 50", "price": "12,95 €", "blurb": "Reef-friendly, water resistant."},
]
