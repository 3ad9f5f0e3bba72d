"""Portal pages for tickets: queues, the ticket page, settings, and the public CSAT page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.conversations.models import Conversation
from apps.conversations.policy import PolicyRefused
from apps.core import inputs
from apps.core.permissions import member_required
from apps.core.roles import Capability
from apps.core.tenancy import access_object
from apps.tickets import selectors, services
from apps.tickets.forms import (
    CommentForm,
    FromConversationForm,
    MacroApplyForm,
    MergeForm,
    SavedFilterForm,
    TicketCreateForm,
    TicketUpdateForm,
)
from apps.tickets.models import SavedFilter, Ticket, TicketStatus
from apps.tickets.services import TicketRefused
from apps.tickets.services.csat import csat_can_change
from apps.tickets.services.sla import sla_badges

PAGE_SIZE = 50


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


def _ticket(request, ticket_id: int) -> Ticket:
    return selectors.ticket_detail(merchant=request.merchant, pk=ticket_id)


# ------------------------------------------------------------------ list
@member_required(Capability.TICKETS)
def ticket_list(request):
    try:
        filters = selectors.parse_filters(request.GET)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        filters = selectors.TicketFilters()
    qs = selectors.ticket_list(merchant=request.merchant, user=request.user, filters=filters)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "page": page,
        "tickets": [(t, _next_badge(t)) for t in page.object_list],
        "filters": filters,
        "counts": selectors.queue_counts(merchant=request.merchant, user=request.user),
        "saved": selectors.saved_filters(merchant=request.merchant, user=request.user),
        "teams": selectors.team_list(merchant=request.merchant),
        "statuses": [*TicketStatus.choices, ("unsolved", "Unsolved")],
        "query": params.urlencode(),
        "save_form": SavedFilterForm(),
        "queues": [
            ("all", "All"),
            ("mine", "Mine"),
            ("unassigned", "Unassigned"),
            ("team", "Teams"),
            ("breaching", "Breaching soon"),
        ],
        "sorts": list(selectors.SORTS),
        "my_team_ids": selectors.team_ids_of(merchant=request.merchant, user=request.user),
    }
    template = "tickets/_list_table.html" if request.htmx else "tickets/list.html"
    return render(request, template, context)


def _next_badge(ticket: Ticket) -> dict | None:
    running = [b for b in sla_badges(ticket=ticket) if b["state"] in ("due", "breached") and b["due_at"]]
    return min(running, key=lambda b: b["due_at"]) if running else None


@member_required(Capability.TICKETS)
@require_POST
def filter_save(request):
    form = SavedFilterForm(request.POST)
    params = QueryDict(request.POST.get("query", ""))
    if form.is_valid():
        services.saved_filter_save(
            merchant=request.merchant, user=request.user, name=form.cleaned_data["name"], params=params.dict()
        )
        messages.success(request, "Filter saved.")
    else:
        messages.error(request, "Name the filter.")
    return redirect(reverse("tickets:list") + "?" + params.urlencode())


@member_required(Capability.TICKETS)
@require_POST
def filter_delete(request, filter_id: int):
    saved = access_object(
        SavedFilter, merchant=request.merchant, pk=filter_id, queryset=SavedFilter.objects.filter(user=request.user)
    )
    services.saved_filter_delete(saved=saved)
    messages.success(request, "Filter deleted.")
    return redirect("tickets:list")


# ------------------------------------------------------------------ create
@member_required(Capability.TICKETS)
@require_GET
def requester_search(request):
    """The requester picker's answers (htmx): this merchant's contacts matching what was typed."""
    q = request.GET.get("requester_q", "")
    contacts = selectors.requester_search(merchant=request.merchant, q=q)
    context = {"contacts": contacts, "q": q.strip(), "searched": len(q.strip()) >= 2}
    return render(request, "tickets/_requester_results.html", context)


@member_required(Capability.TICKETS)
def ticket_new(request):
    form = TicketCreateForm(request.POST or None, merchant=request.merchant)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.ticket_create(
                merchant=request.merchant,
                actor=request.user,
                subject=data["subject"],
                description=data["description"],
                contact=data["requester"],
                priority=data["priority"],
                assignee=data["assignee"],
                team=data["team"],
                tags=data["tags"],
            )
        except ValidationError as exc:
            form.add_error(None, _errors(exc))
        else:
            messages.success(request, f"Ticket #{ticket.number} created.")
            return redirect("tickets:detail", ticket_id=ticket.pk)
    return render(request, "tickets/new.html", {"form": form}, status=400 if form.errors else 200)


@member_required(Capability.TICKETS)
@require_POST
def ticket_from_conversation(request, conversation_id: int):
    conversation = access_object(
        Conversation,
        merchant=request.merchant,
        pk=conversation_id,
        queryset=Conversation.objects.select_related("channel", "contact", "merchant"),
    )
    form = FromConversationForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("subject", []):
            messages.error(request, f"Subject: {error}")
        return redirect("conversations:conversation", conversation_id=conversation.pk)
    ticket = services.ticket_create_from_conversation(
        conversation=conversation, actor=request.user, subject=form.cleaned_data["subject"]
    )
    messages.success(request, f"Ticket #{ticket.number} created from the conversation.")
    return redirect("tickets:detail", ticket_id=ticket.pk)


# ------------------------------------------------------------------ the ticket page
@member_required(Capability.TICKETS)
def ticket_detail(request, ticket_id: int):
    ticket = _ticket(request, ticket_id)
    return render(request, "tickets/detail.html", _detail_context(request, ticket))


def _detail_context(request, ticket: Ticket, **forms) -> dict:
    update_initial = {
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee": ticket.assignee_id,
        "team": ticket.team_id,
        "tags": ", ".join(ticket.tags),
        "due_at": ticket.due_at,
    }
    return {
        "ticket": ticket,
        "badges": sla_badges(ticket=ticket),
        "timeline": selectors.ticket_timeline(ticket=ticket),
        "conversation_ids": selectors.ticket_conversation_ids(ticket=ticket),
        "update_form": forms.get("update_form") or TicketUpdateForm(initial=update_initial, merchant=request.merchant),
        "comment_form": forms.get("comment_form") or CommentForm(),
        "macro_form": MacroApplyForm(merchant=request.merchant),
        "merge_form": MergeForm(),
        "csat_link": services.csat_url(ticket) if ticket.csat_sent_at else "",
        "csat_open": csat_can_change(ticket),
        "my_team_ids": selectors.team_ids_of(merchant=request.merchant, user=request.user),
    }


def _refusal(request, exc: Exception) -> None:
    if isinstance(exc, PolicyRefused | TicketRefused):
        messages.error(request, f"Not sent: {exc.message} ({exc.code})")
    else:
        messages.error(request, _errors(exc))


@member_required(Capability.TICKETS)
@require_POST
def ticket_update(request, ticket_id: int):
    ticket = _ticket(request, ticket_id)
    form = TicketUpdateForm(request.POST, merchant=request.merchant)
    if not form.is_valid():
        return render(request, "tickets/detail.html", _detail_context(request, ticket, update_form=form), status=400)
    try:
        services.ticket_update(ticket=ticket, actor=request.user, **form.cleaned_data)
        messages.success(request, "Ticket updated.")
    except (ValidationError, TicketRefused) as exc:
        _refusal(request, exc)
    return redirect("tickets:detail", ticket_id=ticket.pk)


@member_required(Capability.TICKETS)
@require_POST
def ticket_comment(request, ticket_id: int):
    ticket = _ticket(request, ticket_id)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return render(request, "tickets/detail.html", _detail_context(request, ticket, comment_form=form), status=400)
    try:
        services.ticket_comment_add(
            ticket=ticket, body=form.cleaned_data["body"], public=form.cleaned_data["public"], actor=request.user
        )
        messages.success(request, "Reply sent." if form.cleaned_data["public"] else "Comment added.")
    except (ValidationError, TicketRefused, PolicyRefused) as exc:
        _refusal(request, exc)  # the agent sees why the channel refused; nothing was written
        return render(request, "tickets/detail.html", _detail_context(request, ticket, comment_form=form), status=422)
    return redirect("tickets:detail", ticket_id=ticket.pk)


@member_required(Capability.TICKETS)
@require_POST
def ticket_apply_macro(request, ticket_id: int):
    ticket = _ticket(request, ticket_id)
    form = MacroApplyForm(request.POST, merchant=request.merchant)
    if form.is_valid():
        try:
            services.macro_apply(ticket=ticket, macro=form.cleaned_data["macro"], actor=request.user)
            messages.success(request, f"Macro “{form.cleaned_data['macro'].name}” applied.")
        except (ValidationError, TicketRefused, PolicyRefused) as exc:
            _refusal(request, exc)
    else:
        messages.error(request, "Choose a macro.")
    return redirect("tickets:detail", ticket_id=ticket.pk)


@member_required(Capability.TICKETS)
@require_POST
def ticket_merge(request, ticket_id: int):
    ticket = _ticket(request, ticket_id)
    form = MergeForm(request.POST)
    target = None
    if form.is_valid():
        target = Ticket.objects.for_merchant(request.merchant).filter(number=form.cleaned_data["target_number"]).first()
    if target is None:
        messages.error(request, "No ticket with that number.")
        return redirect("tickets:detail", ticket_id=ticket.pk)
    try:
        services.ticket_merge(source=ticket, target=target, actor=request.user)
    except (ValidationError, TicketRefused) as exc:
        _refusal(request, exc)
        return redirect("tickets:detail", ticket_id=ticket.pk)
    messages.success(request, f"Merged into #{target.number}.")
    return redirect("tickets:detail", ticket_id=target.pk)


# ------------------------------------------------------------------ public CSAT page
def csat(request, token: str):
    ticket = services.csat_ticket_for_token(token)
    if ticket is None:
        return render(request, "tickets/csat.html", {"invalid": True}, status=404)
    context = {"ticket": ticket, "open": csat_can_change(ticket), "ratings": range(1, 6), "errors": []}
    if request.method == "POST":
        rating = inputs.ascii_int(request.POST.get("rating", "")) or 0
        try:
            services.csat_answer(ticket=ticket, rating=rating, comment=request.POST.get("comment", ""))
        except ValidationError as exc:
            context["errors"] = exc.messages
            return render(request, "tickets/csat.html", context, status=400)
        ticket.refresh_from_db()
        context.update(ticket=ticket, thanks=True)
    return render(request, "tickets/csat.html", context)
