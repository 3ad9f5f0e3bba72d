from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from apps.accounts import lockout
from apps.core.ratelimit import RateLimited, client_ip
from apps.merchants.forms import TIMEZONE_CHOICES


class SignInLockoutMixin:
    """For an AuthenticationForm: refuse while locked (before any password is checked), count wrong passwords."""

    def clean(self) -> dict:
        email = self.cleaned_data.get("username")
        if not email:
            return super().clean()  # the field's own error; nothing to check a password against
        ip = client_ip(self.request)
        try:
            lockout.signin_check(email=email, ip=ip)
        except RateLimited as exc:
            raise ValidationError(lockout.LOCKED_MESSAGE.format(minutes=exc.minutes), code="locked") from None
        try:
            data = super().clean()
        except ValidationError as exc:
            if exc.code == "invalid_login":
                lockout.signin_failed(email=email, ip=ip)
            raise
        lockout.signin_succeeded(email=email, ip=ip)
        return data


class EmailAuthenticationForm(SignInLockoutMixin, AuthenticationForm):
    username = forms.EmailField(
        label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def clean_username(self) -> str:
        return self.cleaned_data["username"].lower()


class ProfileForm(forms.Form):
    full_name = forms.CharField(max_length=200, required=False, label="Your name")
    timezone = forms.ChoiceField(
        choices=[("", "The merchant's time zone"), *TIMEZONE_CHOICES],
        required=False,
        label="Time zone",
        help_text="Dates and times in the portal are shown in this zone.",
    )
