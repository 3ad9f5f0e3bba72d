"""The wizard's step forms: each validates its own step; the services validate the draft again."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.utils import timezone

from apps.campaigns import segment_builder
from apps.campaigns.models import MessageTemplate, Segment, TemplateStatus
from apps.campaigns.placeholders import template_variables
from apps.contacts import schedule
from apps.conversations.models import Channel

ONLY_FALLBACK = ""


def _blank_choice(choices: list[tuple[str, str]], label: str) -> list[tuple[str, str]]:
    return [("", label), *choices]


class TemplateStepForm(forms.Form):
    """Step 1: name, channel, an approved template, and each `{{variable}}` mapped to a contact field."""

    name = forms.CharField(max_length=200, label="Campaign name")
    channel = forms.ModelChoiceField(queryset=Channel.objects.none(), label="Channel")
    template = forms.ModelChoiceField(queryset=MessageTemplate.objects.none(), label="Template")

    def __init__(self, *args, merchant, field_choices: list[tuple[str, str]], template=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = Channel.objects.for_merchant(merchant).filter(kind="whatsapp")
        self.fields["template"].queryset = MessageTemplate.objects.for_merchant(merchant).filter(
            status=TemplateStatus.APPROVED, channel_kind="whatsapp"
        )
        self.fields["template"].error_messages["required"] = "Pick an approved template."
        self.fields["template"].error_messages["invalid_choice"] = "Pick one of your approved templates."
        self.variables = template_variables(template.body) if template else []
        for variable in self.variables:
            self.fields[f"map_{variable}"] = forms.ChoiceField(
                required=False,
                choices=_blank_choice(field_choices, "— only the fallback —"),
                label=f"{{{{{variable}}}}} is filled with",
            )
            self.fields[f"fallback_{variable}"] = forms.CharField(
                required=False, max_length=200, label=f"Fallback for {{{{{variable}}}}}"
            )

    def variable_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [(v, self[f"map_{v}"], self[f"fallback_{v}"]) for v in self.variables]

    def clean(self):
        data = super().clean()
        for variable in self.variables:
            if not data.get(f"map_{variable}") and not (data.get(f"fallback_{variable}") or "").strip():
                self.add_error(f"map_{variable}", f"Map {{{{{variable}}}}} to a contact field or type a fallback.")
        return data

    def mapping(self) -> tuple[dict[str, str], dict[str, str]]:
        data = self.cleaned_data
        params = {v: data[f"map_{v}"] for v in self.variables if data.get(f"map_{v}")}
        fallbacks = {
            v: data[f"fallback_{v}"].strip() for v in self.variables if (data.get(f"fallback_{v}") or "").strip()
        }
        return params, fallbacks

    @staticmethod
    def initial_from(campaign) -> dict:
        initial = {"name": campaign.name, "channel": campaign.channel_id, "template": campaign.template_id}
        for variable in campaign.template.variables:
            initial[f"map_{variable}"] = campaign.params.get(variable, ONLY_FALLBACK)
            initial[f"fallback_{variable}"] = campaign.fallbacks.get(variable, "")
        return initial


class AudienceStepForm(forms.Form):
    """Step 2: a saved segment, or rows of the segment builder (posted as row_field / row_op / row_value)."""

    mode = forms.ChoiceField(
        choices=[("segment", "A saved segment"), ("build", "Build an audience")],
        widget=forms.RadioSelect,
        initial="segment",
        label="Audience",
    )
    segment = forms.ModelChoiceField(queryset=Segment.objects.none(), required=False, label="Saved segment")
    segment_name = forms.CharField(required=False, max_length=200, label="Name the new audience")
    match = forms.ChoiceField(choices=segment_builder.MATCH_CHOICES, initial="all", label="Contacts matching")

    def __init__(self, *args, merchant, attribute_keys: list[str], saving: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.saving = saving  # the live count reads the rows before the audience has a name
        self.fields["segment"].queryset = Segment.objects.for_merchant(merchant)
        self.attribute_keys = attribute_keys
        self.rows = self._rows()
        self.rules: dict | None = None

    def _rows(self) -> list[segment_builder.Row]:
        if not self.is_bound:
            return [segment_builder.Row()]
        lists = [self.data.getlist(name) for name in ("row_field", "row_op", "row_value")]
        return [segment_builder.Row(f, o, v) for f, o, v in zip(*lists, strict=False)]

    def field_choices(self) -> list[tuple[str, str]]:
        attributes = [(f"attributes.{k}", f"Attribute: {k}") for k in self.attribute_keys]
        return _blank_choice(segment_builder.FIXED_FIELDS + attributes, "— choose —")

    def clean(self):
        data = super().clean()
        if data.get("mode") == "segment":
            if data.get("segment") is None and "segment" not in self.errors:
                self.add_error("segment", "Pick a saved segment, or build an audience.")
            return data
        if data.get("mode") == "build":
            if self.saving and not (data.get("segment_name") or "").strip():
                self.add_error("segment_name", "Name the new audience (it is saved as a segment you can reuse).")
            try:
                self.rules = segment_builder.rows_to_rules(
                    self.rows, match=data.get("match") or "all", attribute_keys=self.attribute_keys
                )
            except segment_builder.RowsInvalid as exc:
                self.add_error(None, exc.errors)
        return data


class ScheduleStepForm(forms.Form):
    """Step 3: when (in the merchant's zone), how fast, quiet hours and the frequency cap."""

    when = forms.ChoiceField(
        choices=[("now", "Send when I launch"), ("later", "Send at a date and time")],
        widget=forms.RadioSelect,
        initial="now",
        label="When",
    )
    send_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    per_minute = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=60000,
        label="Messages per minute",
        help_text="Empty: as fast as the provider allows; 0: no local limit. Paced per second, so 60, 120, 180…",
    )
    quiet_start = forms.CharField(required=False, max_length=5, label="Quiet hours from (each contact's time)")
    quiet_end = forms.CharField(required=False, max_length=5, label="Quiet hours until")
    cap_max = forms.IntegerField(required=False, min_value=1, max_value=100, label="At most N marketing messages")
    cap_period = forms.ChoiceField(choices=[("day", "per day"), ("week", "per week")], required=False, label="Per")

    def __init__(self, *args, merchant, now=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        self.now = now or timezone.now()
        self.fields["send_at"].label = f"Send at ({merchant.timezone} time)"

    def clean(self):
        data = super().clean()
        when, send_at = data.get("when"), data.get("send_at")
        if when == "later" and send_at is None and "send_at" not in self.errors:
            self.add_error("send_at", "Pick a date and time, or choose “Send when I launch”.")
        elif when == "later" and send_at is not None:
            data["send_at"] = send_at = self._in_merchant_zone(send_at)
            if send_at <= self.now:
                local_now = timezone.localtime(self.now, self.merchant.tz).strftime("%-d %b %Y, %H:%M")
                self.add_error(
                    "send_at", f"Pick a time in the future (it is now {local_now} in {self.merchant.timezone})."
                )
        per_minute = data.get("per_minute")
        if per_minute and per_minute % 60:
            lower, upper = per_minute // 60 * 60 or 60, per_minute // 60 * 60 + 60
            self.add_error("per_minute", f"Give a multiple of 60 (the pace is kept per second): {lower} or {upper}.")
        self._clean_quiet(data)
        return data

    def _in_merchant_zone(self, value):
        naive = timezone.make_naive(value) if timezone.is_aware(value) else value  # the browser sends wall time
        return naive.replace(tzinfo=zoneinfo.ZoneInfo(self.merchant.timezone))

    def _clean_quiet(self, data: dict) -> None:
        start, end = (data.get("quiet_start") or "").strip(), (data.get("quiet_end") or "").strip()
        if bool(start) != bool(end):
            self.add_error("quiet_end" if start else "quiet_start", "Give both ends of the quiet hours, or neither.")
            return
        if start:
            try:
                schedule.quiet_hours_parse({"start": start, "end": end})
            except (ValueError, TypeError):
                self.add_error("quiet_start", "Write the hours as HH:MM, e.g. 21:00 and 09:00.")

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        start, end = (data.get("quiet_start") or "").strip(), (data.get("quiet_end") or "").strip()
        per_minute = data.get("per_minute")
        return {
            "scheduled_at": data.get("send_at") if data.get("when") == "later" else None,
            "throttle_per_second": None if per_minute is None else per_minute // 60,
            "quiet_hours": {"start": start, "end": end} if start else None,
            "frequency_cap": {"max": data["cap_max"], "period": data.get("cap_period") or "day"}
            if data.get("cap_max")
            else None,
        }

    @staticmethod
    def initial_from(campaign, merchant) -> dict:
        quiet, cap = campaign.quiet_hours or {}, campaign.frequency_cap or {}
        local = timezone.localtime(campaign.scheduled_at, merchant.tz) if campaign.scheduled_at else None
        return {
            "when": "later" if campaign.scheduled_at else "now",
            "send_at": local.replace(tzinfo=None) if local else None,
            "per_minute": None if campaign.throttle_per_second is None else campaign.throttle_per_second * 60,
            "quiet_start": quiet.get("start", ""),
            "quiet_end": quiet.get("end", ""),
            "cap_max": cap.get("max"),
            "cap_period": cap.get("period", "day"),
        }
