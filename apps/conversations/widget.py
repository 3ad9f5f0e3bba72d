"""The customer web-chat widget: signed visitor tokens, allowed origins and upload rules.

A visitor token is the only credential a widget holds. It binds one channel to one random visitor
id, so a socket or HTTP call carrying it can only ever reach that visitor's own conversation.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core import signing

from apps.core.ratelimit import Bucket

TOKEN_SALT = "conversations.widget.visitor"
# Long-lived on purpose: the conversation must survive page loads for returning customers.
TOKEN_MAX_AGE = 60 * 60 * 24 * 365

# The only ledger channel a visitor proves by using the widget is the chat itself; an e-mail address (or a
# number) typed into the form may be anyone's.
PROVEN_CONSENT_CHANNELS = frozenset({"webchat"})

DEFAULT_CONSENT_WORDING = "Send me news and offers by e-mail. I can unsubscribe at any time."


@dataclass(frozen=True)
class Visitor:
    channel_id: int
    visitor_id: str


def visitor_id_new() -> str:
    return "v_" + secrets.token_urlsafe(18)


def visitor_token_make(*, channel_id: int, visitor_id: str) -> str:
    return signing.dumps({"c": channel_id, "v": visitor_id}, salt=TOKEN_SALT, compress=True)


def visitor_token_read(*, token: str, channel_id: int) -> Visitor | None:
    """The visitor behind a token, or None when it is forged, expired or for another channel."""
    if not token or len(token) > 500:
        return None
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:  # also covers SignatureExpired
        return None
    if not isinstance(data, dict) or data.get("c") != channel_id or not isinstance(data.get("v"), str):
        return None
    return Visitor(channel_id=channel_id, visitor_id=data["v"])


def consent_double_opt_in(*, consent_channel: str, matched: bool = False) -> bool | None:
    """Double opt-in for a pre-chat grant: forced for what the visitor only typed, and for any grant once the
    typed e-mail found an existing contact (the browser is not proven to be that person); else the merchant's
    setting."""
    return None if consent_channel in PROVEN_CONSENT_CHANNELS and not matched else True


def widget_buckets(*, action: str, channel, visitor_id: str, ip: str | None) -> tuple[Bucket, ...]:
    """What one widget call counts against (`action`: prechat, message, upload), narrowest first.

    The visitor's bucket stops one chat window, the IP's a script minting fresh visitor tokens, the
    merchant's a spread-out flood; a server that reports no client address leaves only the other two.
    """
    buckets = [Bucket(f"widget.{action}.visitor", f"{channel.pk}:{visitor_id}")]
    if ip:
        buckets.append(Bucket(f"widget.{action}.ip", ip))
    buckets.append(Bucket(f"widget.{action}.merchant", str(channel.merchant_id)))
    return tuple(buckets)


def origin_normalise(origin: str) -> str:
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    default_port = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def origin_problem(text: str) -> str | None:
    """Why `text` is not an origin a browser sends (scheme://host[:port]), in words for the merchant; None if it is."""
    value = text.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        return f"“{value}” must start with https:// (or http:// for a local test site), e.g. https://shop.example."
    try:
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number in range
    except ValueError:
        return f"“{value}” has a port that is not a number between 1 and 65535."
    if not parts.hostname:
        return f"“{value}” has no host name after {parts.scheme}://."
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"“{value}” is a page address; use only the origin, {origin_normalise(value)} (no path)."
    if parts.username or parts.password:
        return f"“{value}” holds a user name or password; use only {origin_normalise(value)}."
    return None


def origin_allowed(*, channel, origin: str | None, portal_host: str | None = None) -> bool:
    """True when the page's origin is one the merchant listed for this widget (exact scheme, host, port), or a
    page of the portal itself (`portal_host`, the request's Host): its widget preview and the demo shop."""
    if not origin:
        return False
    wanted = origin_normalise(origin)
    if wanted and portal_host and urlsplit(wanted).netloc == origin_normalise(f"http://{portal_host}")[7:]:
        return True
    return bool(wanted) and wanted in {origin_normalise(o) for o in (channel.allowed_origins or []) if o}


PRECHAT_OFF, PRECHAT_OPTIONAL, PRECHAT_REQUIRED = "off", "optional", "required"
PRECHAT_FIELDS = ("name", "email", "phone")


def prechat_fields(settings: dict) -> dict[str, str]:
    """Each pre-chat field's mode (off / optional / required).

    Channels saved before the per-field setting keep their meaning: `prechat_enabled` asked for a name and
    an e-mail address, the address required when `prechat_email_required` was set.
    """
    stored = settings.get("prechat_fields")
    if isinstance(stored, dict):
        modes = (PRECHAT_OFF, PRECHAT_OPTIONAL, PRECHAT_REQUIRED)
        return {f: stored.get(f) if stored.get(f) in modes else PRECHAT_OFF for f in PRECHAT_FIELDS}
    if not settings.get("prechat_enabled"):
        return dict.fromkeys(PRECHAT_FIELDS, PRECHAT_OFF)
    email = PRECHAT_REQUIRED if settings.get("prechat_email_required") else PRECHAT_OPTIONAL
    return {"name": PRECHAT_OPTIONAL, "email": email, "phone": PRECHAT_OFF}


PRECHAT_FIRST = "Please fill in the form above before you write to us."


def prechat_missing(fields: dict[str, str], contact) -> list[str]:
    """The required pre-chat fields this visitor's contact (None: none yet) has not given."""
    required = [name for name, mode in fields.items() if mode == PRECHAT_REQUIRED]
    return [name for name in required if contact is None or not getattr(contact, name, "")]


def widget_config(*, channel) -> dict:
    """What the widget script needs to draw itself; wording is shown verbatim and recorded verbatim."""
    settings = channel.settings or {}
    fields = prechat_fields(settings)
    return {
        "title": settings.get("widget_title") or channel.name,
        "greeting": settings.get("widget_greeting", ""),
        "prechat": any(mode != PRECHAT_OFF for mode in fields.values()),
        "prechat_fields": fields,
        "prechat_email_required": fields["email"] == PRECHAT_REQUIRED,
        "consent_wording": settings.get("consent_wording") or DEFAULT_CONSENT_WORDING,
        # Which ledger channel the checkbox grants: e-mail by default, since the form asks for an address.
        "consent_channel": settings.get("consent_channel") or "email",
    }
