from __future__ import annotations

import json
import zoneinfo

from django import forms
from django.utils import timezone

from apps.campaigns.models import ChannelKind, MessageTemplate, Segment, TemplateCategory
from apps.conversations.models import Channel
from apps.core import inputs


def _tags(value: str) -> list[str]:
    return [t.strip() for t in (value or "").split(",") if t.strip()]


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=512, help_text="WhatsApp: lowercase letters, digits and _ (e.g. spring_sale).")
    channel_kind = forms.ChoiceField(choices=ChannelKind.choices, label="Channel")
    category = forms.ChoiceField(choices=TemplateCategory.choices)
    language = forms.CharField(max_length=20, initial="es_ES")
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), help_text="Variables as {{first_name}}.")
    header_media_url = forms.URLField(required=False, label="Header image URL", assume_scheme="https")
    stop_button = forms.BooleanField(required=False, initial=True, label="Add a “Stop promotions” button")

    def service_kwargs(self) -> dict:
        from apps.campaigns.services import stop_button

        data = dict(self.cleaned_data)
        wants_stop = data.pop("stop_button")
        data["buttons"] = [stop_button()] if wants_stop else []
        data["header_media_type"] = "image" if data.get("header_media_url") else ""
        return data


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=200)
    tags_any = forms.CharField(required=False, label="Has any of these tags", help_text="Comma-separated.")
    tags_all = forms.CharField(required=False, label="Has all of these tags")
    tags_none = forms.CharField(required=False, label="Has none of these tags")
    has_identity = forms.ChoiceField(
        required=False, choices=[("", "Any"), ("whatsapp", "WhatsApp"), ("messenger", "Messenger")]
    )
    last_seen_within_days = forms.IntegerField(required=False, min_value=0, label="Seen in the last N days")
    created_within_days = forms.IntegerField(required=False, min_value=0, label="Created in the last N days")
    consent = forms.ChoiceField(
        required=False,
        label="WhatsApp marketing consent",
        choices=[("", "Any"), ("granted", "Granted"), ("pending", "Pending"), ("revoked", "Revoked"), ("none", "None")],
    )
    advanced = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="More rules (JSON, e.g. attributes)"
    )

    def rules(self) -> dict:
        data = self.cleaned_data
        rules: dict = {}
        if data.get("advanced"):
            try:
                rules.update(inputs.json_loads(data["advanced"]))
            except (inputs.InputError, TypeError, ValueError) as exc:
                # TypeError/ValueError: valid JSON that is not an object cannot update the rules.
                detail = exc.message if isinstance(exc, inputs.InputError) else ""
                self.add_error("advanced", f'Write valid JSON, e.g. {{"attributes": [...]}}. {detail}'.strip())
        for key in ("tags_any", "tags_all", "tags_none"):
            if _tags(data.get(key)):
                rules[key] = _tags(data[key])
        for key in ("has_identity", "last_seen_within_days", "created_within_days"):
            if data.get(key) not in (None, ""):
                rules[key] = data[key]
        if data.get("consent"):
            rules["consent"] = {"channel": "whatsapp", "purpose": "marketing", "status": [data["consent"]]}
        return rules

    @classmethod
    def initial_from(cls, segment: Segment) -> dict:
        rules = dict(segment.rules or {})
        initial = {"name": segment.name}
        for key in ("tags_any", "tags_all", "tags_none"):
            initial[key] = ", ".join(rules.pop(key, []))
        for key in ("has_identity", "last_seen_within_days", "created_within_days"):
            initial[key] = rules.pop(key, None)
        consent = rules.pop("consent", None)
        initial["consent"] = (consent or {}).get("status", [""])[0] if consent else ""
        initial["advanced"] = json.dumps(rules) if rules else ""
        return initial


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    channel = forms.ModelChoiceField(queryset=Channel.objects.none())
    template = forms.ModelChoiceField(queryset=MessageTemplate.objects.none())
    segment = forms.ModelChoiceField(queryset=Segment.objects.none(), label="Audience")
    params = forms.CharField(
        required=False,
        initial='{"first_name": "first_name"}',
        label="Variables → contact fields (JSON)",
        help_text='e.g. {"first_name": "name"}; fields: name, first_name, phone, email, attributes.<key>',
    )
    fallbacks = forms.CharField(required=False, initial='{"first_name": "there"}', label="Fallbacks (JSON)")
    scheduled_at = forms.DateTimeField(
        required=False,
        label="Send at (your merchant's time zone; empty = when launched)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    throttle_per_second = forms.IntegerField(
        required=False, min_value=0, max_value=1000, label="Messages per second (empty = provider limit)"
    )
    quiet_start = forms.CharField(required=False, initial="21:00", label="Quiet hours from (contact's time)")
    quiet_end = forms.CharField(required=False, initial="09:00", label="Quiet hours until")
    cap_max = forms.IntegerField(required=False, min_value=1, max_value=100, label="At most N marketing messages")
    cap_period = forms.ChoiceField(choices=[("day", "per day"), ("week", "per week")], required=False)

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        self.fields["channel"].queryset = Channel.objects.for_merchant(merchant).filter(kind="whatsapp")
        self.fields["template"].queryset = MessageTemplate.objects.for_merchant(merchant)
        self.fields["segment"].queryset = Segment.objects.for_merchant(merchant)
        self.fields["segment"].widget.attrs.update(
            {
                "hx-get": "audience/",
                "hx-target": "#audience",
                "hx-swap": "outerHTML",  # the partial is the whole #audience box: never nest it
                "hx-trigger": "change",
                "hx-include": "[name=channel]",
            }
        )

    def _json(self, name: str) -> dict:
        raw = self.cleaned_data.get(name) or ""
        try:
            value = inputs.json_loads(raw) if raw.strip() else {}
        except inputs.InputError as exc:
            self.add_error(name, f"Write a JSON object. {exc.message}")
            return {}
        if not isinstance(value, dict):
            self.add_error(name, "Write a JSON object.")
            return {}
        return value

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        scheduled = data.get("scheduled_at")
        if scheduled is not None:  # the browser sends local wall time: read it in the merchant's zone
            naive = timezone.make_naive(scheduled) if timezone.is_aware(scheduled) else scheduled
            scheduled = naive.replace(tzinfo=zoneinfo.ZoneInfo(self.merchant.timezone))
        quiet = None
        if data.get("quiet_start") or data.get("quiet_end"):
            quiet = {"start": data.get("quiet_start", ""), "end": data.get("quiet_end", "")}
        cap = {"max": data["cap_max"], "period": data.get("cap_period") or "day"} if data.get("cap_max") else None
        return {
            "name": data["name"],
            "channel": data["channel"],
            "template": data["template"],
            "segment": data["segment"],
            "params": self._json("params"),
            "fallbacks": self._json("fallbacks"),
            "scheduled_at": scheduled,
            "throttle_per_second": data.get("throttle_per_second"),
            "quiet_hours": quiet,
            "frequency_cap": cap,
        }


class TestSendForm(forms.Form):
    contact = forms.IntegerField(label="Contact id (e.g. your own contact)")
