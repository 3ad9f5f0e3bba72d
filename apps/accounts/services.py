"""Writes for accounts: the password-reset e-mail (sent by a task, never in the request)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm

from apps.core.enqueue import enqueue_on_commit

SUBJECT_TEMPLATE = "accounts/email/password_reset_subject.txt"
EMAIL_TEMPLATE = "accounts/email/password_reset.txt"


def password_reset_request(*, email: str) -> None:
    """Queue the reset mail; the request that asked never waits for the mail server."""
    enqueue_on_commit("apps.accounts.tasks.password_reset_send", email)


def password_reset_send(*, email: str) -> int:
    """Mail a reset link to the active account with this address, if there is one; how many were mailed."""
    form = PasswordResetForm({"email": email})
    if not form.is_valid():
        return 0
    users = list(form.get_users(form.cleaned_data["email"]))
    if not users:
        return 0
    # Links use the public address, never the Host header of the request that asked.
    base = urlsplit(settings.PUBLIC_BASE_URL)
    form.save(
        domain_override=base.netloc,
        use_https=base.scheme == "https",
        subject_template_name=SUBJECT_TEMPLATE,
        email_template_name=EMAIL_TEMPLATE,
    )
    return len(users)


def user_profile_update(*, user, full_name: str, timezone: str) -> None:
    """A member's own name and zone (blank: the current merchant's zone is used)."""
    user.full_name, user.timezone = full_name, timezone
    user.full_clean(validate_unique=False)
    user.save(update_fields=["full_name", "timezone"])
