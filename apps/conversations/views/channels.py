"""The merchant's web-chat channels and each one's widget settings and snippet."""

from __future__ import annotations

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from apps.conversations import forms, services
from apps.conversations.models import Channel, ChannelKind
from apps.core.permissions import member_required
from apps.core.roles import Capability
from apps.core.tenancy import access_object


@member_required(Capability.SETTINGS)
@require_GET
def channel_list(request: HttpRequest) -> HttpResponse:
    channels = Channel.objects.for_merchant(request.merchant).filter(kind=ChannelKind.WEBCHAT).order_by("name")
    return render(request, "conversations/channels.html", {"channels": channels})


@member_required(Capability.SETTINGS)
def widget_settings(request: HttpRequest, channel_id: int) -> HttpResponse:
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
