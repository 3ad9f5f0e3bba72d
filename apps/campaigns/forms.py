from __future__ import annotations

import json

from django import forms

from apps.campaigns.models import ChannelKind, Segment, TemplateCategory
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


class TestSendForm(forms.Form):
    contact = forms.IntegerField(label="Contact id (e.g. your own contact)")
