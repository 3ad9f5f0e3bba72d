import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from apps.core.roles import Role
from apps.core.tenancy import MerchantOwned

slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    "Use 1 to 50 lowercase letters, digits or hyphens, not starting or ending with a hyphen.",
)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not an IANA time zone (e.g. Europe/Madrid).")


def validate_locale(value: str) -> None:
    allowed = {code for code, _ in settings.LANGUAGES}
    if value.split("-")[0].split("_")[0] not in allowed:
        raise ValidationError(f"“{value}” is not a supported locale ({', '.join(sorted(allowed))}).")


class Merchant(models.Model):
    """A business using Charla: the tenant every other row belongs to."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=50, unique=True, validators=[slug_validator])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    locale = models.CharField(max_length=10, default="en", validators=[validate_locale])
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def setting(self, key: str, default=None):
        return (self.settings or {}).get(key, default)


class Membership(MerchantOwned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "user"], name="membership_unique_user")]
        ordering = ["merchant_id", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} · {self.role} @ {self.merchant_id}"


class Invitation(MerchantOwned):
    """A pending invitation to join a merchant; the token is stored hashed."""

    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["merchant", "email"], name="invitation_merchant_email")]

    def __str__(self) -> str:
        return f"{self.email} → {self.merchant_id} ({self.role})"


class ApiKey(MerchantOwned):
    """A merchant's API key. Only a SHA-256 of the secret is stored; the key is shown once."""

    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)  # apps/merchants/scopes.py; validated by the service
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
