import zoneinfo

from django import forms

from apps.core.roles import Role
from apps.merchants.models import Merchant
from apps.merchants.scopes import ApiScope

TIMEZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones()) if "/" in tz or tz == "UTC"]


class MerchantSettingsForm(forms.ModelForm):
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES)

    class Meta:
        model = Merchant
        fields = ["name", "timezone", "locale"]


class InvitationForm(forms.Form):
    email = forms.EmailField(label="E-mail")
    # The least-privileged role is preselected: more access is a choice the admin makes, not a default.
    role = forms.ChoiceField(choices=Role.choices, initial=Role.AGENT)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=80, label="Key name", help_text="Where the key is used, e.g. “Shop backend”.")
    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple, label="Scopes",
        help_text="Give a key only what its program needs; admin can do everything.",
    )  # fmt: skip


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(max_length=200, required=False, label="Your name")
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(
        label="Repeat password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return cleaned
