import zoneinfo

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from apps.contacts import schedule
from apps.contacts.models import (
    AttributeDefinition,
    AttributeType,
    ConsentChannel,
    ConsentStatus,
    IdentityKind,
    KeywordKind,
    Purpose,
)
from apps.contacts.services.contact_csv import DEFAULT_COLUMNS, export_columns_parse
from apps.contacts.services.import_parse import import_targets

TIMEZONE_CHOICES = [("", "— from the phone, else the merchant's —")] + [
    (tz, tz) for tz in sorted(zoneinfo.available_timezones()) if "/" in tz or tz == "UTC"
]
LOCALE_CHOICES = [("", "—"), *settings.LANGUAGES]


class ContactFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", help_text="A phone or e-mail (exact) or part of a name")
    tag = forms.CharField(required=False, label="Tag")
    consent = forms.ChoiceField(
        required=False,
        label="Marketing consent",
        choices=[("", "Any")]
        + [(f"{c}:{s}", f"{cl}: {sl}") for c, cl in ConsentChannel.choices for s, sl in ConsentStatus.choices],
    )
    channel = forms.ChoiceField(required=False, label="Reachable on", choices=[("", "Any"), *IdentityKind.choices])


class _ColumnsField(forms.MultipleChoiceField):
    def validate(self, value):
        pass  # export_columns_parse names every unknown column, in the API's words


class ContactExportForm(forms.Form):
    """The columns of a contacts export; the list's filters travel beside it in the query string."""

    columns = _ColumnsField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Columns",
        help_text="A consent column also writes the date of that state (…_since). None ticked: the default set.",
    )  # fmt: skip

    def __init__(self, *args, available: list[str], **kwargs):
        super().__init__(*args, initial={"columns": list(DEFAULT_COLUMNS)}, **kwargs)
        self.available = available
        self.fields["columns"].choices = [(name, name) for name in available]

    def clean_columns(self) -> list[str]:
        try:
            return export_columns_parse(values=self.cleaned_data["columns"], available=self.available)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["columns"]) from None


class ContactForm(forms.Form):
    """Profile fields; the service validates (phone, e-mail, time zone) and names each bad field."""

    name = forms.CharField(required=False, max_length=200)
    phone = forms.CharField(required=False, max_length=40, help_text="International format, e.g. +34600111222")
    email = forms.CharField(required=False, max_length=254, label="E-mail")
    whatsapp_id = forms.CharField(required=False, max_length=40, label="WhatsApp id")
    messenger_psid = forms.CharField(required=False, max_length=128, label="Messenger PSID")
    timezone = forms.ChoiceField(required=False, choices=TIMEZONE_CHOICES, label="Time zone")
    locale = forms.ChoiceField(required=False, choices=LOCALE_CHOICES, label="Language")
    tags = forms.CharField(required=False, help_text="Separated by commas")

    def __init__(self, *args, definitions: list[AttributeDefinition] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.definitions = list(definitions)
        for d in self.definitions:
            field_class = {AttributeType.BOOLEAN: forms.NullBooleanField, AttributeType.DATE: forms.DateField}.get(
                d.type, forms.CharField
            )
            self.fields[f"attr_{d.key}"] = field_class(required=False, label=d.label)

    def profile_data(self) -> dict:
        data = {k: self.cleaned_data[k] for k in ("name", "phone", "email", "timezone", "locale", "tags")}
        data["whatsapp_id"], data["messenger_psid"] = (
            self.cleaned_data["whatsapp_id"],
            self.cleaned_data["messenger_psid"],
        )
        attrs = {}
        for d in self.definitions:
            value = self.cleaned_data.get(f"attr_{d.key}")
            if value not in (None, ""):
                attrs[d.key] = value.isoformat() if hasattr(value, "isoformat") else value
        data["attributes"] = attrs
        return data


class ConsentForm(forms.Form):
    """An agent records what the person said; the exact wording is the proof and is required."""

    channel = forms.ChoiceField(choices=ConsentChannel.choices)
    purpose = forms.ChoiceField(choices=Purpose.choices)
    action = forms.ChoiceField(choices=[("grant", "Granted"), ("revoke", "Revoked")], label="The person")
    wording = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Exact wording shown or said",
        help_text="What the person was told and agreed to, word for word, naming the business and the channel.",
    )
    evidence_url = forms.URLField(required=False, label="Evidence link (optional)", assume_scheme="https")
    occurred_at = forms.DateTimeField(
        required=False,
        label="When (optional, default now)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class ImportUploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8, first row = column names")


class ImportMappingForm(forms.Form):
    consent_channel = forms.ChoiceField(
        required=False,
        choices=[("", "— from a column —"), *ConsentChannel.choices],
        label="Consent channel for all rows",
    )
    consent_purpose = forms.ChoiceField(
        required=False, choices=[("", "Marketing (default)"), *Purpose.choices], label="Consent purpose for all rows"
    )

    def __init__(self, *args, headers: list[str], merchant, initial_mapping: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = headers
        choices = [("", "— ignore —")] + [(t, t) for t in import_targets(merchant=merchant)]
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                required=False, choices=choices, label=header or f"Column {index + 1}",
                initial=initial_mapping.get(header, ""),
            )  # fmt: skip

    def mapping(self) -> dict:
        return {h: self.cleaned_data[f"col_{i}"] for i, h in enumerate(self.headers) if self.cleaned_data[f"col_{i}"]}

    def defaults(self) -> dict:
        return {k: self.cleaned_data[k] for k in ("consent_channel", "consent_purpose") if self.cleaned_data.get(k)}


class MergeForm(forms.Form):
    source = forms.IntegerField(label="Id of the contact to fold into this one", min_value=1)


class KeywordForm(forms.Form):
    word = forms.CharField(max_length=60, help_text="The whole message, e.g. PARAR")
    kind = forms.ChoiceField(choices=KeywordKind.choices)
    language = forms.ChoiceField(required=False, choices=LOCALE_CHOICES)


class AttributeForm(forms.Form):
    key = forms.SlugField(max_length=50, help_text="Used in the API and imports as attr:<key>")
    label = forms.CharField(max_length=100)
    type = forms.ChoiceField(choices=AttributeType.choices)


class ConsentSettingsForm(forms.Form):
    double_opt_in = forms.BooleanField(
        required=False,
        label="Double opt-in",
        help_text="Form and widget grants stay pending until the person confirms.",
    )
    help_text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Reply to HELP / INFO")
    keyword_opt_out_reply = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Reply to STOP (blank = default)"
    )
    keyword_opt_in_reply = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Reply to START (blank = default)"
    )
    quiet_start = forms.CharField(
        required=False,
        label="Marketing quiet hours from (contact's time, HH:MM)",
        help_text="Marketing sent outside campaigns (agents, API, automations) is refused in these hours. "
        "Blank = none; campaigns keep their own.",
    )
    quiet_end = forms.CharField(required=False, label="Marketing quiet hours until (HH:MM)")
    cap_max = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=schedule.CAP_MAX,
        label="At most this many marketing messages per contact",
        help_text="Counts every marketing message the contact got, campaigns included. Blank = no limit.",
    )
    cap_period = forms.ChoiceField(choices=[(p, f"per {p}") for p in schedule.PERIODS], required=False, label="Period")

    PLAIN = ("double_opt_in", "help_text", "keyword_opt_out_reply", "keyword_opt_in_reply")

    @classmethod
    def initial_for(cls, merchant) -> dict:
        quiet = merchant.setting(schedule.QUIET_HOURS_SETTING) or {}
        cap = merchant.setting(schedule.FREQUENCY_CAP_SETTING) or {}
        return {
            **{key: merchant.setting(key, "") for key in cls.PLAIN},
            "quiet_start": quiet.get("start", ""),
            "quiet_end": quiet.get("end", ""),
            "cap_max": cap.get("max"),
            "cap_period": cap.get("period", "day"),
        }

    def clean(self):
        data = super().clean()
        start, end = data.get("quiet_start") or "", data.get("quiet_end") or ""
        try:
            quiet = schedule.quiet_hours_parse({"start": start, "end": end} if start or end else None)
        except ValueError as exc:
            self.add_error("quiet_start" if not schedule.HHMM.match(start) else "quiet_end", str(exc))
            return data
        data["quiet"] = {"start": start, "end": end} if quiet else None
        return data

    def settings_values(self) -> dict:
        """What to store in Merchant.settings (the rules' shapes are `contacts.schedule`'s)."""
        data = self.cleaned_data
        cap = {"max": data["cap_max"], "period": data.get("cap_period") or "day"} if data.get("cap_max") else None
        return {
            **{key: data[key] for key in self.PLAIN},
            schedule.QUIET_HOURS_SETTING: data["quiet"],
            schedule.FREQUENCY_CAP_SETTING: cap,
        }
