"""Sign-in lockout: failed passwords counted per account and IP, and per IP across accounts.

A full bucket refuses every sign-in it covers, the right password included, until its window ends or an
admin unlocks (`manage.py signin_unlock`, the Django admin's user action). Counting per account *and* IP
keeps a stranger from locking a member out from elsewhere; the per-IP bucket stops one address trying
many accounts. An account is unlocked on every IP at once by moving it to a new generation of buckets.
"""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.core.cache import cache

from apps.core.ratelimit import Bucket, rate_check, rate_count, rate_of, rate_reset

LOCKED_MESSAGE = "Too many failed sign-ins. Try again in {minutes} minutes or ask an admin to unlock."
ACCOUNT_IP = "signin.account_ip"
IP = "signin.ip"


def _generation_key(email: str) -> str:
    return f"{settings.CHARLA_RATE_LIMIT_PREFIX}:signin-generation:{hashlib.sha256(email.encode()).hexdigest()[:32]}"


def _buckets(*, email: str, ip: str | None) -> tuple[Bucket, ...]:
    """The account's bucket from this IP, then the IP's; with no client address, the account's alone."""
    email = email.lower()
    generation = cache.get(_generation_key(email), "0")
    account = Bucket(ACCOUNT_IP, f"{email}|{generation}|{ip or '-'}")
    return (account, Bucket(IP, ip)) if ip else (account,)


def signin_check(*, email: str, ip: str | None) -> None:
    """RateLimited while this account from this IP, or this IP, is locked."""
    rate_check(*_buckets(email=email, ip=ip))


def signin_failed(*, email: str, ip: str | None) -> None:
    rate_count(*_buckets(email=email, ip=ip))


def signin_succeeded(*, email: str, ip: str | None) -> None:
    """A member who mistyped a few times starts afresh; the IP's count across accounts stays."""
    rate_reset(_buckets(email=email, ip=ip)[0])


def signin_unlock(*, email: str | None = None, ip: str | None = None) -> None:
    """Lift the lock of an account (from every IP) and/or of an IP (for every account)."""
    if email:
        # Outlives the account's windows, after which nothing of the old generation is left.
        cache.set(_generation_key(email.lower()), uuid.uuid4().hex, timeout=2 * rate_of(ACCOUNT_IP).period)
    if ip:
        rate_reset(Bucket(IP, ip))
