"""Forms of the agent inbox and the widget settings page."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.conversations import uploads, widget
from apps.conversations.models import ConversationStatus

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


class WidgetSettingsForm(forms.Form):
    allowed_origins = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="One origin per line, e.g. https://shop.example (scheme, host and port exactly as in the browser).",
    )
    widget_title = forms.CharField(max_length=80, required=False, label="Title")
    widget_greeting = forms.CharField(max_length=300, required=False, label="Greeting")
    prechat_enabled = forms.BooleanField(required=False, label="Ask for name and e-mail before the chat")
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

    def clean_allowed_origins(self) -> list[str]:
        origins, bad = [], []
        for line in self.cleaned_data["allowed_origins"].splitlines():
            if not line.strip():
                continue
            normalised = widget.origin_normalise(line)
            parts = urlsplit(line.strip())
            if not normalised or parts.path not in ("", "/") or parts.query or parts.fragment:
                bad.append(line.strip())
            elif normalised not in origins:
                origins.append(normalised)
        if bad:
            raise ValidationError(f"Not an origin (scheme://host[:port], no path): {', '.join(bad)}")
        return origins
