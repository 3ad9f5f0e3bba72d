"""Keys derived from DJANGO_SECRET_KEY. Plain functions: settings import this before Django is set up."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def secret_key_fernet_key(secret_key: str) -> str:
    """A Fernet key for stored secrets, derived (HKDF-SHA256) from the secret key with its own purpose label,
    so it is not the secret key and no other derivation of it yields the same bytes."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"charla stored secrets v1").derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(derived).decode("ascii")
