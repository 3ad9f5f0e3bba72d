"""Forms of the agent inbox and the widget settings page."""

from __future__ import annotations

import secrets

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.conversations import uploads, widget
from apps.conversations.models import Channel, ChannelKind, ConversationStatus

TABS = (("mine", "Mine"), ("unassigned", "Unassigned"), ("all", "All"))
# Opening the inbox shows the new chats nobody has picked up yet: the work a support team must not miss.
DEFAULT_TAB = "unassigned"


class InboxFilterForm(forms.Form):
    view = forms.ChoiceField(choices=TABS, required=False)
    status = forms.ChoiceField(choices=[("", "Any status"), *ConversationStatus.choices], required=False)
    channel = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    label = forms.CharField(max_length=50, required=False, widget=forms.TextInput(attrs={"placeholder": "Label"}))
    assignee = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    q = forms.CharField(
        max_length=200, required=False, label="Search", widget=forms.TextInput(attrs={"placeholder": "Search"})
    )

    def __init__(self, *args, channels=(), members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", "Any channel"), *[(c.pk, c.name) for c in channels]]
        self.fields["assignee"].choices = [("", "Anyone"), *[(m.user_id, m.user.display_name) for m in members]]


class ComposerForm(forms.Form):
    text = forms.CharField(max_length=4096, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    is_note = forms.BooleanField(required=False, label="Private note (only agents see it)")
    attachment = forms.FileField(required=False)
    media_type = ""  # what the attachment was validated as (image, audio, video, document)

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        if upload:
            try:
                self.media_type = uploads.upload_validate(
                    name=upload.name,
                    content_type=upload.content_type,
                    size=upload.size,
                    head=uploads.upload_head(upload),
                )
            except ValidationError as exc:
                raise ValidationError(exc.message_dict["file"]) from None
        return upload

    def clean(self):
        data = super().clean()
        if not (data.get("text") or "").strip() and not data.get("attachment"):
            self.add_error("text", "Write a message or attach a file.")
        return data


class AssignForm(forms.Form):
    assignee = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Unassigned"), *[(m.user_id, m.user.display_name) for m in members]]


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=[c for c in ConversationStatus.choices if c[0] != "snoozed"])


class SnoozeForm(forms.Form):
    until = forms.DateTimeField(
        label="Snooze until", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until <= timezone.now():
            raise ValidationError("Choose a time in the future.")
        return until


class LabelsForm(forms.Form):
    labels = forms.CharField(max_length=1100, required=False, help_text="Separate labels with commas.")

    def clean_labels(self) -> list[str]:
        return [label.strip() for label in self.cleaned_data["labels"].split(",") if label.strip()]


PRECHAT_CHOICES = [
    (widget.PRECHAT_OFF, "Off"),
    (widget.PRECHAT_OPTIONAL, "Optional"),
    (widget.PRECHAT_REQUIRED, "Required"),
]


class WidgetSettingsForm(forms.Form):
    name = forms.CharField(max_length=120, label="Name", help_text="Shown in the inbox next to each conversation.")
    allowed_origins = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Allowed sites",
        help_text="One origin per line, e.g. https://shop.example (scheme, host and port exactly as in the browser).",
    )
    widget_title = forms.CharField(max_length=80, required=False, label="Title")
    widget_greeting = forms.CharField(max_length=300, required=False, label="Greeting")
    prechat_name = forms.ChoiceField(choices=PRECHAT_CHOICES, required=False, label="Pre-chat: name")
    prechat_email = forms.ChoiceField(choices=PRECHAT_CHOICES, required=False, label="Pre-chat: e-mail")
    prechat_phone = forms.ChoiceField(choices=PRECHAT_CHOICES, required=False, label="Pre-chat: phone")
    consent_wording = forms.CharField(
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Marketing consent checkbox wording",
        help_text="Shown next to the checkbox and stored word for word with each consent.",
    )
    consent_channel = forms.ChoiceField(
        choices=[("email", "E-mail"), ("whatsapp", "WhatsApp"), ("sms", "SMS"), ("webchat", "Web chat")],
        initial="email",
        label="The consent is for marketing by",
    )
    demo_shop = forms.BooleanField(
        required=False,
        label="Public demo shop page",
        help_text="A fake shop page on this portal, open to anyone with its address, that shows this widget.",
    )

    @classmethod
    def initial_for(cls, channel) -> dict:
        config = widget.widget_config(channel=channel)
        stored = channel.settings or {}
        return {
            "name": channel.name,
            "allowed_origins": "\n".join(channel.allowed_origins or []),
            "widget_title": stored.get("widget_title", ""),
            "widget_greeting": stored.get("widget_greeting", ""),
            "consent_wording": stored.get("consent_wording", ""),
            "consent_channel": stored.get("consent_channel") or "email",
            "demo_shop": bool(stored.get("demo_shop")),
            **{f"prechat_{field}": mode for field, mode in config["prechat_fields"].items()},
        }

    def clean_allowed_origins(self) -> list[str]:
        origins, problems = [], []
        for number, line in enumerate(self.cleaned_data["allowed_origins"].splitlines(), start=1):
            if not line.strip():
                continue
            if problem := widget.origin_problem(line):
                problems.append(f"Line {number}: {problem}")
            elif (normalised := widget.origin_normalise(line)) not in origins:
                origins.append(normalised)
        if problems:
            raise ValidationError(problems)
        return origins

    def widget_settings(self) -> dict:
        """What the channel's `settings` keeps from this form."""
        data = self.cleaned_data
        keys = ("widget_title", "widget_greeting", "consent_wording", "consent_channel", "demo_shop")
        fields = {f: data[f"prechat_{f}"] or widget.PRECHAT_OFF for f in widget.PRECHAT_FIELDS}
        return {**{k: data[k] for k in keys}, "prechat_fields": fields}


class ChannelConnectForm(forms.Form):
    """Connect (or edit) a WhatsApp number or a Messenger page. The rules live in the channels service; the
    view shows its errors on these fields. Secrets are never rendered back: empty on edit keeps them."""

    name = forms.CharField(max_length=120, required=False, label="Name")

    def __init__(self, *args, kind: str, channel=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind, self.channel = kind, channel
        if kind == ChannelKind.WHATSAPP:
            self.fields["phone_number_id"] = forms.CharField(
                max_length=64, required=False, label="Phone number id", help_text="WhatsApp Manager → API Setup."
            )
            self.fields["waba_id"] = forms.CharField(
                max_length=64,
                required=False,
                label="WhatsApp Business Account id",
                help_text="Optional; needed to sync message templates.",
            )
        else:
            self.fields["page_id"] = forms.CharField(max_length=64, required=False, label="Page id")
        for field, label in (("access_token", "Access token"), ("app_secret", "App secret")):
            self.fields[field] = forms.CharField(
                max_length=1000,
                required=False,
                label=label,
                strip=True,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                help_text=self._secret_help(field),
            )
        self.fields["verify_token"] = forms.CharField(
            max_length=255,
            required=False,
            label="Verify token",
            help_text=self._secret_help("verify_token")
            or "Generated for you; Meta asks for it when you add the webhook. Any text of your own works too.",
        )
        if channel is None and not self.is_bound:
            self.initial.setdefault("verify_token", secrets.token_urlsafe(24))

    def _secret_help(self, field: str) -> str:
        if self.channel is not None and getattr(self.channel, field):
            return "•••• set. Leave empty to keep it; type a new one to replace it."
        return ""

    @property
    def id_field(self) -> str:
        return "phone_number_id" if self.kind == ChannelKind.WHATSAPP else "page_id"

    def values(self) -> dict:
        data = self.cleaned_data
        settings = {"waba_id": data["waba_id"]} if "waba_id" in data else {}
        return {
            "name": data["name"].strip(),
            "ids": {self.id_field: data[self.id_field].strip()},
            "secrets": {f: data[f] for f in Channel.SECRET_FIELDS},
            "settings": settings,
        }


class ChannelToggleForm(forms.Form):
    is_active = forms.BooleanField(required=False)
