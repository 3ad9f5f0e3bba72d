"""The conversation list, and the inbox page with one conversation open."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from apps.conversations import events, forms, selectors
from apps.conversations.views.conversation import conversation_context
from apps.conversations.views.shared import conversation_for, inbox_members
from apps.core.keyset import CursorInvalid
from apps.core.permissions import member_required
from apps.core.roles import Capability, role_can

LIST_LIMIT = 50
BAD_PAGE = "This page link is not valid any more: reload the inbox."


@member_required(Capability.INBOX)
@require_GET
def inbox(request: HttpRequest, conversation_id: int | None = None) -> HttpResponse:
    # Read the seq first: anything that happens while the page renders reaches the socket's resume.
    last_seq = events.last_seq(merchant_id=request.merchant.pk)
    members = inbox_members(request.merchant)
    channels = list(selectors.channel_list(merchant=request.merchant))
    query = request.GET.copy()
    query.setdefault("view", forms.DEFAULT_TAB)
    query.setdefault("status", "open")  # the default views show the work still to do
    filters = forms.InboxFilterForm(query, channels=channels, members=members)
    data = filters.cleaned_data if filters.is_valid() else {"view": forms.DEFAULT_TAB, "status": "open"}
    tab = data.get("view") or forms.DEFAULT_TAB
    try:
        position = _position(request)
    except CursorInvalid:
        if request.htmx:  # appending a first page under the rows shown would repeat them
            return HttpResponseBadRequest(BAD_PAGE)
        position = None  # a hand-edited address: the first page, cleanly
    page = selectors.conversation_list(
        merchant=request.merchant,
        user=request.user,
        view=tab,
        status=data.get("status") or None,
        channel_id=data.get("channel"),
        label=data.get("label") or None,
        assignee_id=data.get("assignee"),
        search=data.get("q") or None,
        before=position,
        limit=LIST_LIMIT,
    )
    more_query = query.copy()
    more_query["before"] = page.next_cursor or ""
    newest_query = query.copy()
    newest_query.pop("before", None)
    context = {
        "filters": filters,
        "tab": tab,
        "rows": page.items,
        "more_url": f"{reverse('conversations:inbox')}?{more_query.urlencode()}" if page.next_cursor else "",
        "newest_url": f"{reverse('conversations:inbox')}?{newest_query.urlencode()}" if position else "",
        "last_seq": last_seq,
        "can_manage_channels": role_can(request.membership.role, Capability.SETTINGS),
    }
    if request.htmx and request.GET.get("before"):
        return render(request, "conversations/_rows.html", context)
    if request.htmx and request.htmx.target == "conversation-list":
        return render(request, "conversations/_list.html", context)
    context["tabs"] = _tabs(request, data, tab)
    if conversation_id is not None:
        context.update(conversation_context(request, conversation_for(request, conversation_id), members))
    return render(request, "conversations/inbox.html", context)


def _position(request: HttpRequest):
    before = request.GET.get("before")
    return selectors.cursor_decode(before) if before else None


def _tabs(request: HttpRequest, data: dict, current: str) -> list[dict]:
    counts = selectors.conversation_tab_counts(
        merchant=request.merchant, user=request.user, status=data.get("status") or None
    )
    return [
        {"value": value, "label": label, "count": counts[value], "current": value == current}
        for value, label in forms.TABS
    ]


@member_required(Capability.INBOX)
@require_GET
def conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return inbox(request, conversation_id=conversation_id)


@member_required(Capability.INBOX)
@require_GET
def conversation_row(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = conversation_for(request, conversation_id)
    return render(request, "conversations/_row.html", {"c": conversation, "tab": request.GET.get("view", "all")})
