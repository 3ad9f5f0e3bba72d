"""Portal pages for marketers: templates, segments, the campaign wizard, progress and results."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.campaigns import selectors, services
from apps.campaigns.forms import SegmentForm, TemplateForm, TestSendForm
from apps.campaigns.models import Campaign, MessageTemplate, Segment
from apps.contacts.models import Contact
from apps.core import inputs
from apps.core.csv_export import csv_lines, csv_response
from apps.core.permissions import member_required
from apps.core.roles import Capability
from apps.core.tenancy import access_object


def _errors_into(form, exc: ValidationError) -> None:
    for field, errors in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
        form.add_error(field if field in form.fields else None, errors)


# --------------------------------------------------------------------------- templates
@member_required(Capability.TEMPLATES)
def template_list(request):
    form = TemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            template = services.template_create(merchant=request.merchant, **form.service_kwargs())
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, f"Template {template.name} saved ({template.status}).")
            return redirect("campaigns:templates")
    context = {"templates": selectors.template_list(merchant=request.merchant), "form": form}
    return render(request, "campaigns/templates.html", context, status=400 if form.errors else 200)


@member_required(Capability.TEMPLATES)
def template_preview(request, template_id: int):
    template = access_object(MessageTemplate, merchant=request.merchant, pk=template_id)
    contact_id = inputs.ascii_int(request.GET.get("contact", ""))
    contact = (
        Contact.objects.for_merchant(request.merchant).filter(pk=contact_id).first() if contact_id is not None else None
    )
    text = services.template_preview(template=template, contact=contact) if contact else template.body
    return render(request, "campaigns/template_preview.html", {"template": template, "text": text, "contact": contact})


# --------------------------------------------------------------------------- segments
@member_required(Capability.SEGMENTS)
def segment_list(request):
    segments = list(selectors.segment_list(merchant=request.merchant)[:100])
    counts = selectors.segment_counts(merchant=request.merchant, segments=segments)
    rows = [(segment, counts.get(segment.pk, 0)) for segment in segments]
    return render(request, "campaigns/segments.html", {"rows": rows})


def _segment_form(request, segment: Segment | None):
    initial = SegmentForm.initial_from(segment) if segment else None
    form = SegmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        rules = form.rules()
        if not form.errors:
            try:
                if segment:
                    services.segment_update(segment=segment, name=form.cleaned_data["name"], rules=rules)
                else:
                    segment = services.segment_create(
                        merchant=request.merchant, name=form.cleaned_data["name"], rules=rules
                    )
            except ValidationError as exc:
                form.add_error("advanced", exc.message_dict.get("rules", exc.messages))
            else:
                messages.success(request, f"Segment {segment.name} saved.")
                return redirect("campaigns:segments")
    context = {"form": form, "segment": segment}
    return render(request, "campaigns/segment_form.html", context, status=400 if form.errors else 200)


@member_required(Capability.SEGMENTS)
def segment_new(request):
    return _segment_form(request, None)


@member_required(Capability.SEGMENTS)
def segment_edit(request, segment_id: int):
    return _segment_form(request, access_object(Segment, merchant=request.merchant, pk=segment_id))


@member_required(Capability.SEGMENTS)
def segment_count(request):
    """htmx: the live count of the rules being edited (and the exclusions on WhatsApp)."""
    form = SegmentForm(request.GET or request.POST)
    form.is_valid()
    try:
        preview = selectors.audience_preview(merchant=request.merchant, rules=form.rules())
    except ValidationError as exc:
        return render(request, "campaigns/_audience.html", {"error": " ".join(exc.messages)})
    return render(request, "campaigns/_audience.html", {"preview": preview})


# --------------------------------------------------------------------------- campaigns
@member_required(Capability.CAMPAIGNS)
def campaign_list(request):
    campaigns = selectors.campaign_list(merchant=request.merchant)[:100]
    return render(request, "campaigns/list.html", {"campaigns": campaigns})


@member_required(Capability.CAMPAIGNS)
def campaign_audience(request):
    """htmx on the wizard: the chosen segment's count and the exclusions it will make right now."""
    segment_id = inputs.ascii_int(request.GET.get("segment", ""))
    segment = (
        Segment.objects.for_merchant(request.merchant).filter(pk=segment_id).first() if segment_id is not None else None
    )
    if segment is None:
        return render(request, "campaigns/_audience.html", {})
    preview = selectors.audience_preview(merchant=request.merchant, rules=segment.rules)
    return render(request, "campaigns/_audience.html", {"preview": preview})


def _campaign(request, campaign_id: int) -> Campaign:
    return access_object(
        Campaign,
        merchant=request.merchant,
        pk=campaign_id,
        queryset=Campaign.objects.select_related("channel", "template", "segment"),
    )


BAR_MAX = 320  # px of the chart's 480-wide viewBox; the label column and the count take the rest
BAR_STEP = 26


def funnel_chart(funnel: list[dict]) -> dict:
    """Bar geometry for the server-rendered SVG: each step's width against the audience."""
    top = max(funnel[0]["count"], 1)
    bars = []
    for index, step in enumerate(funnel):
        width = round(BAR_MAX * step["count"] / top)
        y = index * BAR_STEP
        bars.append({**step, "y": y, "text_y": y + 14, "width": width, "count_x": 100 + width + 6})
    return {"bars": bars, "height": len(funnel) * BAR_STEP}


@member_required(Capability.CAMPAIGNS)
def campaign_detail(request, campaign_id: int):
    campaign = _campaign(request, campaign_id)
    results = selectors.campaign_results(campaign=campaign)
    funnel = selectors.campaign_funnel(results=results)
    context = {
        "campaign": campaign,
        "merchant": request.merchant,
        "results": results,
        "funnel": funnel,
        "chart": funnel_chart(funnel),
        "preview": selectors.audience_preview(merchant=request.merchant, rules=campaign.segment.rules)
        if campaign.status == "draft" and campaign.segment_id
        else None,
    }
    template = "campaigns/_results.html" if request.htmx else "campaigns/detail.html"
    return render(request, template, context)


def _transition(request, campaign_id: int, fn, done: str):
    campaign = _campaign(request, campaign_id)
    try:
        fn(campaign=campaign)
    except (services.TransitionRefused, services.LaunchRefused) as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect("campaigns:detail", campaign_id=campaign.pk)


@member_required(Capability.CAMPAIGNS)
@require_POST
def campaign_launch(request, campaign_id: int):
    return _transition(request, campaign_id, services.campaign_launch, "Launched.")


@member_required(Capability.CAMPAIGNS)
@require_POST
def campaign_pause(request, campaign_id: int):
    return _transition(request, campaign_id, services.campaign_pause, "Paused: nothing more goes out until you resume.")


@member_required(Capability.CAMPAIGNS)
@require_POST
def campaign_resume(request, campaign_id: int):
    return _transition(request, campaign_id, services.campaign_resume, "Resumed: only people not yet reached.")


@member_required(Capability.CAMPAIGNS)
@require_POST
def campaign_cancel(request, campaign_id: int):
    return _transition(request, campaign_id, services.campaign_cancel, "Cancelled.")


@member_required(Capability.CAMPAIGNS)
@require_POST
def campaign_test_send(request, campaign_id: int):
    campaign = _campaign(request, campaign_id)
    form = TestSendForm(request.POST)
    contact = None
    if form.is_valid():
        contact = Contact.objects.for_merchant(request.merchant).filter(pk=form.cleaned_data["contact"]).first()
    if contact is None:
        messages.error(request, "Pick one of your contacts (search by name, phone or e-mail).")
    else:
        try:
            services.campaign_test_send(campaign=campaign, contact=contact)
        except services.LaunchRefused as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Test message sent to {contact}.")
    return redirect("campaigns:detail", campaign_id=campaign.pk)


EXPORT_HEADER = [
    "delivery_id", "contact_id", "contact_name", "state", "reason", "error_code", "provider_message_id",
    "attempted_at", "sent_at", "delivered_at", "read_at", "failed_at",
]  # fmt: skip
EXPORT_FIELDS = [
    "id",
    "contact_id",
    "contact__name",
    "state",
    "reason",
    "error_code",
    "provider_message_id",
    "attempted_at",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
]


@member_required(Capability.CAMPAIGNS)
def campaign_export(request, campaign_id: int):
    """Streams every delivery as CSV, keyset-paged so memory stays flat for a million rows."""
    campaign = _campaign(request, campaign_id)
    return csv_response(csv_lines(EXPORT_HEADER, _export_rows(campaign)), f"campaign-{campaign.pk}-deliveries.csv")


def _export_rows(campaign) -> Iterator[tuple]:
    last = 0
    while True:
        page = list(
            selectors.delivery_list(campaign=campaign)
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list(*EXPORT_FIELDS)[:2000]
        )
        yield from page
        if len(page) < 2000:
            return
        last = page[-1][0]
