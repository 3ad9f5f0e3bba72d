"""The campaign wizard's pages: template, audience, schedule and pace, review and launch.

Each step is its own form, validated alone and saved on the draft Campaign, so a reload (or coming back
tomorrow) resumes where the marketer left. Parsing lives in `wizard_forms`, writes in `services.wizard`.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.campaigns import segment_builder, selectors, services
from apps.campaigns.models import Campaign, CampaignStatus, MessageTemplate, TemplateStatus
from apps.campaigns.placeholders import template_parts
from apps.campaigns.wizard_forms import AudienceStepForm, ScheduleStepForm, TemplateStepForm
from apps.contacts import schedule
from apps.core import inputs
from apps.core.permissions import member_required
from apps.core.roles import Capability
from apps.core.tenancy import access_object

STEPS = [("template", "Template"), ("audience", "Audience"), ("schedule", "Schedule and pace"), ("review", "Review")]


def _errors_into(form, exc: ValidationError) -> None:
    for field, errors in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
        form.add_error(field if field in form.fields else None, errors)


def _draft(request, campaign_id: int) -> Campaign:
    return access_object(
        Campaign,
        merchant=request.merchant,
        pk=campaign_id,
        queryset=Campaign.objects.select_related("channel", "template", "segment"),
    )


def _steps(campaign: Campaign | None, current: str) -> list[dict]:
    reached = {"template"} | ({"audience"} if campaign else set())
    if campaign and campaign.segment_id:
        reached |= {"schedule", "review"}
    return [
        {"key": key, "label": label, "number": n, "current": key == current, "reachable": key in reached}
        for n, (key, label) in enumerate(STEPS, 1)
    ]


def _render(request, template: str, campaign: Campaign | None, step: str, context: dict, invalid: bool = False):
    context = {
        "campaign": campaign,
        "steps": _steps(campaign, step),
        "step": step,
        "operators": segment_builder.operator_choices(),
        **context,
    }
    return render(request, f"campaigns/{template}", context, status=400 if invalid else 200)


def _not_a_draft(request, campaign: Campaign):
    messages.info(request, f"This campaign is {campaign.get_status_display().lower()}: the wizard edits drafts only.")
    return redirect("campaigns:detail", campaign_id=campaign.pk)


# --------------------------------------------------------------------------- step 1: template
def _chosen_template(request, campaign: Campaign | None) -> MessageTemplate | None:
    source = request.POST if request.method == "POST" else request.GET
    template_id = inputs.ascii_int(source.get("template", ""))
    if template_id is None:
        return campaign.template if campaign else None
    approved = MessageTemplate.objects.for_merchant(request.merchant).filter(status=TemplateStatus.APPROVED)
    return approved.filter(pk=template_id).first()


def _preview(template: MessageTemplate | None, form: TemplateStepForm, choices: list[tuple[str, str]]) -> dict | None:
    """The template as the contact will see it, each variable shown as what fills it (field, else fallback)."""
    if template is None:
        return None
    labels = dict(choices)
    data = form.data if form.is_bound else form.initial
    pieces = []
    for text, variable in template_parts(template.body):
        if variable is None:
            pieces.append({"text": text})
            continue
        field, fallback = data.get(f"map_{variable}") or "", (data.get(f"fallback_{variable}") or "").strip()
        if field and fallback:
            shown = f"{labels.get(field, field)}, else “{fallback}”"
        else:
            shown = labels.get(field, field) if field else (f"“{fallback}”" if fallback else f"unmapped {text}")
        pieces.append({"variable": variable, "text": shown, "unmapped": not field and not fallback})
    return {"template": template, "pieces": pieces}


def _template_step(request, campaign: Campaign | None):
    choices = selectors.contact_field_choices(merchant=request.merchant)
    template = _chosen_template(request, campaign)
    initial = TemplateStepForm.initial_from(campaign) if campaign else None
    form = TemplateStepForm(
        request.POST or None, merchant=request.merchant, field_choices=choices, template=template, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        params, fallbacks = form.mapping()
        fields = {"name": form.cleaned_data["name"], "channel": form.cleaned_data["channel"], "template": template}
        try:
            if campaign is None:
                merchant = request.merchant
                campaign = services.campaign_draft_create(
                    merchant=merchant,
                    created_by=request.user,
                    params=params,
                    fallbacks=fallbacks,
                    quiet_hours=merchant.setting(schedule.QUIET_HOURS_SETTING),
                    frequency_cap=merchant.setting(schedule.FREQUENCY_CAP_SETTING),
                    **fields,
                )
            else:
                services.campaign_draft_update(campaign=campaign, params=params, fallbacks=fallbacks, **fields)
        except (ValidationError, services.TransitionRefused) as exc:
            _errors_into(form, exc) if isinstance(exc, ValidationError) else form.add_error(None, exc.message)
        else:
            return redirect("campaigns:wizard_audience", campaign_id=campaign.pk)
    context = {"form": form, "preview": _preview(template, form, choices)}
    return _render(request, "wizard_template.html", campaign, "template", context, invalid=bool(form.errors))


@member_required(Capability.CAMPAIGNS)
def wizard_new(request):
    return _template_step(request, None)


@member_required(Capability.CAMPAIGNS)
def wizard_template(request, campaign_id: int):
    campaign = _draft(request, campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        return _not_a_draft(request, campaign)
    return _template_step(request, campaign)


@member_required(Capability.CAMPAIGNS)
@require_GET
def wizard_template_fields(request):
    """htmx: the chosen template's variable rows and its preview, as the marketer picks and maps."""
    choices = selectors.contact_field_choices(merchant=request.merchant)
    template = _chosen_template(request, None)
    bound = request.GET if any(k.startswith(("map_", "fallback_")) for k in request.GET) else None
    form = TemplateStepForm(bound, merchant=request.merchant, field_choices=choices, template=template)
    context = {"form": form, "preview": _preview(template, form, choices)}
    return render(request, "campaigns/_template_fields.html", context)


# --------------------------------------------------------------------------- step 2: audience
def _audience_form(request, data=None, saving: bool = True) -> AudienceStepForm:
    keys = [code.removeprefix("attributes.") for code, _ in selectors.contact_field_choices(merchant=request.merchant)]
    keys = [k for k in keys if k not in dict(selectors.BASIC_FIELDS)]
    return AudienceStepForm(data, merchant=request.merchant, attribute_keys=keys, saving=saving)


def _rows_edited(form: AudienceStepForm, action: str) -> bool:
    """Add or remove a builder row without saving (works without JavaScript; htmx swaps the form)."""
    if action == "add":
        form.rows.append(segment_builder.Row())
        return True
    index = inputs.ascii_int(action.removeprefix("remove-")) if action.startswith("remove-") else None
    if index is not None and 0 <= index < len(form.rows):
        del form.rows[index]
        if not form.rows:
            form.rows.append(segment_builder.Row())
        return True
    return False


def _preview_for(request, form: AudienceStepForm) -> dict:
    data = form.cleaned_data if hasattr(form, "cleaned_data") else {}
    if data.get("mode") == "segment" and data.get("segment") is not None:
        return {"preview": selectors.audience_preview(merchant=request.merchant, rules=data["segment"].rules)}
    if data.get("mode") == "build" and form.rules is not None:
        return {"preview": selectors.audience_preview(merchant=request.merchant, rules=form.rules)}
    return {}


@member_required(Capability.CAMPAIGNS)
def wizard_audience(request, campaign_id: int):
    campaign = _draft(request, campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        return _not_a_draft(request, campaign)
    if request.method != "POST":
        initial = {"mode": "segment", "segment": campaign.segment_id} if campaign.segment_id else None
        form = _audience_form(request)
        form.initial = initial or {}
        preview = (
            selectors.audience_preview(merchant=request.merchant, rules=campaign.segment.rules) if initial else None
        )
        return _render(request, "wizard_audience.html", campaign, "audience", {"form": form, "preview": preview})
    form = _audience_form(request, request.POST)
    if _rows_edited(form, request.POST.get("row_action", "")):
        form.is_valid()
        context = {"form": form, **_preview_for(request, form), "editing": True}
        return _render(request, "wizard_audience.html", campaign, "audience", context)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.campaign_draft_audience(
                campaign=campaign,
                segment=data["segment"] if data["mode"] == "segment" else None,
                name=data.get("segment_name", ""),
                rules=form.rules,
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        except services.TransitionRefused as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("campaigns:wizard_schedule", campaign_id=campaign.pk)
    context = {"form": form, **_preview_for(request, form)}
    return _render(request, "wizard_audience.html", campaign, "audience", context, invalid=True)


@member_required(Capability.CAMPAIGNS)
@require_GET
def wizard_count(request):
    """htmx: the live count (and the exclusions, in words) of the audience being picked or built."""
    form = _audience_form(request, request.GET, saving=False)
    if form.is_valid():
        try:
            return render(request, "campaigns/_audience.html", _preview_for(request, form))
        except ValidationError as exc:
            return render(request, "campaigns/_audience.html", {"error": " ".join(exc.messages)})
    errors = [e for errors in form.errors.values() for e in errors]
    return render(request, "campaigns/_audience.html", {"error": " ".join(errors)})


# --------------------------------------------------------------------------- step 3: schedule and pace
@member_required(Capability.CAMPAIGNS)
def wizard_schedule(request, campaign_id: int):
    campaign = _draft(request, campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        return _not_a_draft(request, campaign)
    if campaign.segment_id is None:
        return redirect("campaigns:wizard_audience", campaign_id=campaign.pk)
    initial = ScheduleStepForm.initial_from(campaign, request.merchant)
    form = ScheduleStepForm(request.POST or None, merchant=request.merchant, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_draft_update(campaign=campaign, **form.service_kwargs())
        except ValidationError as exc:
            _errors_into(form, exc)
        except services.TransitionRefused as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("campaigns:wizard_review", campaign_id=campaign.pk)
    context = {"form": form, "merchant": request.merchant}
    return _render(request, "wizard_schedule.html", campaign, "schedule", context, invalid=bool(form.errors))


# --------------------------------------------------------------------------- step 4: review and launch
@member_required(Capability.CAMPAIGNS)
@require_GET
def wizard_review(request, campaign_id: int):
    campaign = _draft(request, campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        return _not_a_draft(request, campaign)
    if campaign.segment_id is None:
        return redirect("campaigns:wizard_audience", campaign_id=campaign.pk)
    choices = dict(selectors.contact_field_choices(merchant=request.merchant))
    mapping = [
        (v, choices.get(campaign.params.get(v, ""), campaign.params.get(v, "")), campaign.fallbacks.get(v, ""))
        for v in campaign.template.variables
    ]
    context = {
        "preview": selectors.audience_preview(merchant=request.merchant, rules=campaign.segment.rules),
        "mapping": mapping,
        "merchant": request.merchant,
        "per_minute": None if campaign.throttle_per_second is None else campaign.throttle_per_second * 60,
    }
    return _render(request, "wizard_review.html", campaign, "review", context)


@member_required(Capability.CAMPAIGNS)
@require_POST
def wizard_launch(request, campaign_id: int):
    campaign = _draft(request, campaign_id)
    try:
        services.campaign_launch_reachable(campaign=campaign)
    except (services.TransitionRefused, services.LaunchRefused) as exc:
        messages.error(request, exc.message)
        return redirect("campaigns:wizard_review", campaign_id=campaign.pk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("campaigns:wizard_review", campaign_id=campaign.pk)
    messages.success(request, "Launched.")
    return redirect("campaigns:detail", campaign_id=campaign.pk)


@member_required(Capability.CAMPAIGNS)
@require_GET
def test_contacts(request, campaign_id: int):
    """htmx: this merchant's contacts matching the search box, each a button sending the test to it."""
    campaign = _draft(request, campaign_id)
    query = request.GET.get("q", "")
    contacts = list(selectors.contact_search(merchant=request.merchant, query=query))
    return render(request, "campaigns/_test_contacts.html", {"campaign": campaign, "contacts": contacts, "q": query})
