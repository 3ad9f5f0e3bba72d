"""Hashed identifiers of erased contacts (HMAC-SHA256, key derived from SECRET_KEY).

Only the hash is kept, so the merchant can recognise the person if they come back (an import,
an inbound message) without storing who they were.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings

from apps.core import inputs

KEY_SALT = "charla.contacts.suppression"


def identifier_normalize(kind: str, value: str) -> str:
    value = (value or "").strip()
    if kind == "email":
        return value.lower()
    if kind in {"phone", "whatsapp"}:
        return inputs.ascii_digits(value)  # "+34600…" and wa_id "34600…" hash alike
    # A business-scoped user id (`whatsapp_user`) is kept as Meta sent it: its letters are part of the id, and
    # it is no number, so it hashes under its own kind (a person known by it alone is suppressed by it).
    return value


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    # The same derivation as django.utils.crypto.salted_hmac: SHA-256(KEY_SALT + SECRET_KEY).
    return hashlib.sha256((KEY_SALT + secret).encode()).digest()


def suppression_hash(kind: str, value: str) -> str:
    message = f"{kind}:{identifier_normalize(kind, value)}".encode()
    return hmac.new(_key(settings.SECRET_KEY), message, hashlib.sha256).hexdigest()


def suppression_hasher():
    """`suppression_hash` for many values at once: the keyed HMAC state is built once and copied, and
    a value seen twice (a phone and the WhatsApp id with its digits) is hashed once."""
    keyed = hmac.new(_key(settings.SECRET_KEY), digestmod=hashlib.sha256)
    seen: dict[tuple[str, str], str] = {}

    def digest(kind: str, value: str) -> str:
        key = (kind, identifier_normalize(kind, value))
        if key not in seen:
            mac = keyed.copy()
            mac.update(f"{key[0]}:{key[1]}".encode())
            seen[key] = mac.hexdigest()
        return seen[key]

    return digest


def hash_kind(kind: str) -> str:
    # A WhatsApp id is the phone's digits: both hash under "phone" so either finds the other.
    return "phone" if kind == "whatsapp" else kind


def bare_identifier_pairs(value: str, digest=suppression_hash) -> set[tuple[str, str]]:
    """(kind, hash) pairs an identifier met without its kind (a webhook's `from`, `recipient_user_id`,
    a Messenger `sender.id`) may be suppressed under: a number as a phone, anything else as a WhatsApp
    business-scoped user id, and anything as a Messenger PSID."""
    kinds = ["phone" if inputs.is_ascii_digits(value) else "whatsapp_user", "messenger"]
    return {(kind, digest(kind, value)) for kind in kinds}


def contact_identifiers(
    *, phone: str, email: str, identities: Iterable[tuple[str, str]], digest=suppression_hash
) -> set[tuple[str, str]]:
    """(kind, hash) pairs for a contact's phone, e-mail and channel identities.

    `digest`: a `suppression_hasher()` when hashing many contacts at once.
    """
    values = [("phone", phone), ("email", email)]
    values += [(hash_kind(kind), external_id) for kind, external_id in identities]
    return {(kind, digest(kind, value)) for kind, value in values if value}
