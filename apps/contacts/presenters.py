"""Consent history in plain words, for the contact page and anyone reading the ledger."""

from __future__ import annotations

from apps.contacts.models import ConsentAction, ConsentChannel, ConsentEvent, ConsentSource, ConsentStatus, Purpose
from apps.core import timefmt

VERBS = {ConsentAction.GRANT: "Granted", ConsentAction.REVOKE: "Revoked", ConsentAction.CONFIRM: "Confirmed"}
SOURCE_WORDS = {
    ConsentSource.WEB_FORM: "web form",
    ConsentSource.WIDGET: "the web-chat pre-chat form",
    ConsentSource.KEYWORD: "a keyword message",
    ConsentSource.PROVIDER_PREFERENCE: "the provider's preference setting",
    ConsentSource.PROVIDER_ERROR: "a provider error code",
    ConsentSource.IMPORT: "import",
    ConsentSource.API: "the API",
    ConsentSource.AGENT: "an agent",
}


def _label(choices, value: str) -> str:
    return dict(choices.choices).get(value, value)


def consent_event_sentence(event: ConsentEvent, *, tz, locale: str | None = None) -> str:
    """E.g. 'Granted marketing on WhatsApp via web form on 3 Mar 2026 14:02 — shown: “…” — IP 1.2.3.4'."""
    verb = VERBS.get(event.action, event.action)
    if event.action == ConsentAction.GRANT and event.resulting_status == ConsentStatus.PENDING:
        verb = "Requested (pending confirmation)"
    when = timefmt.absolute(event.occurred_at, tz=tz, locale=locale)
    via = SOURCE_WORDS.get(event.source, event.source)
    if event.collected_via:
        via = f"{via} (collected via {event.collected_via})"
    purpose, channel = _label(Purpose, event.purpose).lower(), _label(ConsentChannel, event.channel)
    parts = [f"{verb} {purpose} on {channel} via {via} on {when}"]
    if event.wording:
        parts.append(f"shown: “{event.wording}”")
    if event.evidence_url:
        parts.append(f"page {event.evidence_url}")
    if event.evidence_message_id:
        parts.append(f"message {event.evidence_message_id}")
    if event.ip_address:
        parts.append(f"IP {event.ip_address}")
    if event.user_agent:
        parts.append(f"browser {event.user_agent}")
    who = event.actor.email if event.actor_id else event.actor_label
    if who:
        parts.append(f"recorded by {who}")
    return " — ".join(parts)
