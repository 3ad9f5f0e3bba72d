"""Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, app secret as key>`.

Model-free: the caller passes the channel's secret. Nothing is stored for a request this refuses.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Hub-Signature-256"
PREFIX = "sha256="


def signature_valid(*, body: bytes, header: str, secret: str) -> bool:
    """True when the header signs exactly these bytes with this secret; compared in constant time so a forger
    learns nothing from how long a wrong guess takes."""
    if not secret or not header.startswith(PREFIX):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    # Bytes, not str: compare_digest raises on a non-ASCII str, and a header is whatever the sender wrote.
    given = header.removeprefix(PREFIX).strip().lower().encode("utf-8", errors="replace")
    return hmac.compare_digest(expected, given)


def signature_header(*, body: bytes, secret: str) -> str:
    """The header Meta sends with these bytes: what the sandbox signs its simulated webhooks with."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
