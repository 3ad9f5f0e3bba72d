"""The sandbox phone: a newcomer plays one of the shop's contacts and sees what the shop sent them.

The thread polls every 2 seconds (htmx) rather than listening on a socket: the page is a demo tool with
one viewer, and a socket topic would need a consumer, a route and the embedded relay for one page.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.contacts.models import Contact
from apps.conversations.models import Channel
from apps.core import inputs
from apps.core.permissions import member_required
from apps.core.roles import Capability
from apps.core.tenancy import access_object
from apps.sandbox import selectors, services
from apps.sandbox.bubbles import bubble
from apps.sandbox.guard import sandbox_on

# Admins and marketers: the people who run campaigns and try them out; agents never play the customer.
PHONE_CAPABILITY = Capability.CAMPAIGNS


@sandbox_on
@member_required(PHONE_CAPABILITY)
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return redirect("sandbox:phone")


@sandbox_on
@member_required(PHONE_CAPABILITY)
@require_GET
def phone(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    context = {
        "q": q,
        "contacts": selectors.phone_contacts(merchant=request.merchant, q=q),
        "channels": list(selectors.sandbox_channels(merchant=request.merchant)),
    }
    return render(request, "sandbox/phone.html", context)


def _channel(request: HttpRequest, channel_id: str) -> Channel | None:
    channels = selectors.sandbox_channels(merchant=request.merchant)
    if channel_id:
        return access_object(Channel, merchant=request.merchant, pk=inputs.ascii_int(channel_id), queryset=channels)
    return channels.first()


def _thread_context(request: HttpRequest, contact: Contact, channel: Channel | None, error: str = "") -> dict:
    address = selectors.contact_address(contact=contact, channel=channel) if channel else None
    messages = selectors.phone_thread(channel=channel, address=address) if address else []
    templates = selectors.thread_templates(merchant=request.merchant, messages=messages)
    return {
        "contact": contact,
        "channel": channel,
        "channels": list(selectors.sandbox_channels(merchant=request.merchant)),
        "address": address,
        "bubbles": [bubble(m, templates=templates) for m in messages],
        "error": error,
        "poll_url": _url("thread_messages", contact, channel),
    }


def _url(name: str, contact: Contact, channel: Channel | None) -> str:
    url = reverse(f"sandbox:{name}", args=[contact.pk])
    return f"{url}?channel={channel.pk}" if channel else url


@sandbox_on
@member_required(PHONE_CAPABILITY)
@require_GET
def thread(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = access_object(Contact, merchant=request.merchant, pk=contact_id)
    channel = _channel(request, request.GET.get("channel", ""))
    return render(request, "sandbox/thread.html", _thread_context(request, contact, channel))


@sandbox_on
@member_required(PHONE_CAPABILITY)
@require_GET
def thread_messages(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The thread alone: what the page polls."""
    contact = access_object(Contact, merchant=request.merchant, pk=contact_id)
    channel = _channel(request, request.GET.get("channel", ""))
    return render(request, "sandbox/_thread.html", _thread_context(request, contact, channel))


@sandbox_on
@member_required(PHONE_CAPABILITY)
@require_POST
def reply(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The customer writes (`text`) or taps quick reply `button` of shop message `message`."""
    contact = access_object(Contact, merchant=request.merchant, pk=contact_id)
    channel = _channel(request, request.POST.get("channel", ""))
    error = ""
    try:
        if channel is None:
            raise services.SandboxRefused("This merchant has no sandbox channel.", field="channel")
        if "button" in request.POST:
            message_id, index = inputs.ascii_int(request.POST.get("message")), inputs.ascii_int(request.POST["button"])
            if message_id is None or index is None:
                raise services.SandboxRefused("Tap a button of a message on this phone.", field="button")
            services.customer_tap(channel=channel, contact=contact, message_id=message_id, index=index)
        else:
            services.customer_write(channel=channel, contact=contact, text=request.POST.get("text", ""))
    except services.SandboxRefused as exc:
        error = exc.message
    status = 400 if error else 200
    if request.htmx:
        return render(request, "sandbox/_thread.html", _thread_context(request, contact, channel, error), status=status)
    if error:
        return render(request, "sandbox/thread.html", _thread_context(request, contact, channel, error), status=400)
    return redirect(_url("thread", contact, channel))
