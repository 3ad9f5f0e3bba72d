"""Portal forms. Querysets are narrowed to the member's merchant in __init__."""

from __future__ import annotations

from datetime import date

from django import forms

from apps.tickets import clock
from apps.tickets.models import (
    WEEKDAY_NAMES,
    BusinessHours,
    Macro,
    SlaPolicy,
    Team,
    TicketPriority,
    TicketStatus,
)
from apps.tickets.selectors import agents, requester_candidates
from apps.tickets.services.config import POLICY_FIELDS


def _tags(value: str) -> list[str]:
    return [t.strip() for t in (value or "").split(",") if t.strip()]


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.full_name or obj.email


def _agent_queryset(merchant):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk__in=[u.pk for u in agents(merchant=merchant)]).order_by("email")


class ContactSearchWidget(forms.Widget):
    """A search box (htmx asks `tickets:requester_search` as the member types) whose answers are radio
    buttons named like the field; the chosen contact is shown again when the form comes back with errors."""

    template_name = "tickets/widgets/contact_search.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        queryset = getattr(self.choices, "queryset", None)
        chosen = queryset.filter(pk=value).first() if queryset is not None and str(value or "").isdigit() else None
        context["widget"]["chosen"], context["widget"]["chosen_list"] = chosen, [chosen] if chosen else []
        return context


class RequesterField(forms.ModelChoiceField):
    default_error_messages = {"invalid_choice": "Pick the requester from the search results."}


class FromConversationForm(forms.Form):
    """The inbox's one-click ticket: an optional subject (the conversation names it otherwise)."""

    subject = forms.CharField(max_length=200, required=False)


class TicketCreateForm(forms.Form):
    subject = forms.CharField(max_length=200)
    requester = RequesterField(
        queryset=None,
        required=False,
        widget=ContactSearchWidget,
        label="Requester",
        help_text="Search this merchant's contacts by name, e-mail or phone, then pick one.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False)
    priority = forms.ChoiceField(choices=TicketPriority.choices, initial=TicketPriority.NORMAL)
    assignee = AgentChoiceField(queryset=None, required=False)
    team = forms.ModelChoiceField(queryset=None, required=False)
    tags = forms.CharField(required=False, help_text="Comma-separated.")

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        self.fields["assignee"].queryset = _agent_queryset(merchant)
        self.fields["team"].queryset = Team.objects.for_merchant(merchant)
        self.fields["requester"].queryset = requester_candidates(merchant=merchant)

    def clean_tags(self):
        return _tags(self.cleaned_data["tags"])


class TicketUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=TicketStatus.choices)
    priority = forms.ChoiceField(choices=TicketPriority.choices)
    assignee = AgentChoiceField(queryset=None, required=False)
    team = forms.ModelChoiceField(queryset=None, required=False)
    tags = forms.CharField(required=False, help_text="Comma-separated.")
    due_at = forms.DateTimeField(
        required=False, label="Due date", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = _agent_queryset(merchant)
        self.fields["team"].queryset = Team.objects.for_merchant(merchant)

    def clean_tags(self):
        return _tags(self.cleaned_data["tags"])


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=10_000, label="Message")
    public = forms.BooleanField(required=False, label="Send to the customer (public reply)")


class MergeForm(forms.Form):
    target_number = forms.IntegerField(min_value=1, label="Merge into ticket number")


class MacroApplyForm(forms.Form):
    macro = forms.ModelChoiceField(queryset=None)

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["macro"].queryset = Macro.objects.for_merchant(merchant)


class SavedFilterForm(forms.Form):
    name = forms.CharField(max_length=80, label="Save these filters as")


# ------------------------------------------------------------------ settings
class BusinessHoursForm(forms.Form):
    name = forms.CharField(max_length=80)
    timezone = forms.CharField(max_length=64, help_text="IANA time zone, e.g. Europe/Madrid.")
    is_default = forms.BooleanField(required=False, label="Default for SLA policies without their own hours")
    holidays = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="One date per line, e.g. 2026-12-25."
    )

    def __init__(self, *args, instance: BusinessHours | None = None, **kwargs):
        initial = kwargs.setdefault("initial", {})
        if instance is not None:
            initial.update(
                name=instance.name,
                timezone=instance.timezone,
                is_default=instance.is_default,
                holidays="\n".join(instance.holidays),
            )
        super().__init__(*args, **kwargs)
        for day, label in enumerate(WEEKDAY_NAMES):
            self.fields[f"day_{day}"] = forms.CharField(
                required=False, label=label, help_text="e.g. 09:00-13:00, 15:00-19:00 (empty: closed)"
            )
            if instance is not None:
                periods = [p for p in instance.periods if p["weekday"] == day]
                initial.setdefault(f"day_{day}", ", ".join(f"{p['start']}-{p['end']}" for p in periods))

    def clean(self):
        data = super().clean()
        periods = []
        for day in range(7):
            for chunk in (data.get(f"day_{day}") or "").split(","):
                if not chunk.strip():
                    continue
                start, sep, end = chunk.strip().partition("-")
                try:
                    if not sep:
                        raise ValueError(f"“{chunk.strip()}” is not like 09:00-13:00")
                    s, e = clock.parse_hhmm(start), clock.parse_hhmm(end)
                except ValueError as exc:
                    self.add_error(f"day_{day}", str(exc))
                    continue
                periods.append({"weekday": day, "start": clock.format_hhmm(s), "end": clock.format_hhmm(e)})
        holidays = []
        for line in (data.get("holidays") or "").split():
            try:
                holidays.append(date.fromisoformat(line.strip()).isoformat())
            except ValueError:
                self.add_error("holidays", f"“{line}” is not a date like 2026-12-25.")
        data["periods"], data["holidays"] = periods, holidays
        return data

    def values(self) -> dict:
        data = self.cleaned_data
        return {k: data[k] for k in ("name", "timezone", "is_default", "periods", "holidays")}


class SlaPolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = list(POLICY_FIELDS)
        help_texts = {
            "channel_kind": "webchat, whatsapp, messenger, or empty for any.",
            "tag": "Only tickets with this tag (empty: any).",
        }

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.merchant = merchant  # model validation compares linked rows' merchant with this one
        self.fields["business_hours"].queryset = BusinessHours.objects.for_merchant(merchant)
        self.fields["escalate_team"].queryset = Team.objects.for_merchant(merchant)

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class TeamForm(forms.Form):
    name = forms.CharField(max_length=80)
    description = forms.CharField(max_length=300, required=False)
    members = forms.ModelMultipleChoiceField(queryset=None, required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, merchant, instance: Team | None = None, **kwargs):
        if instance is not None:
            kwargs.setdefault("initial", {}).update(
                name=instance.name, description=instance.description, members=list(instance.members.all())
            )
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = _agent_queryset(merchant)
        self.fields["members"].label_from_instance = lambda u: u.full_name or u.email

    def values(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "description": data["description"], "members": list(data["members"])}


class MacroForm(forms.ModelForm):
    add_tags_text = forms.CharField(required=False, label="Add tags", help_text="Comma-separated.")
    remove_tags_text = forms.CharField(required=False, label="Remove tags", help_text="Comma-separated.")

    class Meta:
        model = Macro
        fields = ["name", "reply_text", "reply_public", "set_status", "set_priority", "set_assignee", "set_team"]
        help_texts = {
            "reply_text": "Variables: {{contact.name}}, {{contact.email}}, {{ticket.number}}, "
            "{{ticket.subject}}, {{agent.name}}, {{merchant.name}}."
        }

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.merchant = merchant
        self.fields["set_assignee"].queryset = _agent_queryset(merchant)
        self.fields["set_team"].queryset = Team.objects.for_merchant(merchant)
        if self.instance.pk:
            self.fields["add_tags_text"].initial = ", ".join(self.instance.add_tags)
            self.fields["remove_tags_text"].initial = ", ".join(self.instance.remove_tags)

    def apply_tags(self, macro: Macro) -> Macro:
        macro.add_tags = _tags(self.cleaned_data["add_tags_text"])
        macro.remove_tags = _tags(self.cleaned_data["remove_tags_text"])
        return macro
