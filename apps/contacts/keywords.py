"""The keyword engine: STOP / START / HELP (and the merchant's own words) on every inbound message."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from apps.contacts.models import (
    ConsentAction,
    ConsentEvent,
    ConsentKeyword,
    ConsentSource,
    ConsentState,
    ConsentStatus,
    Contact,
    KeywordKind,
    Purpose,
)
from apps.contacts.services.consent import consent_record
from apps.merchants.models import Merchant

OPT_OUT, OPT_IN, HELP = KeywordKind.OPT_OUT.value, KeywordKind.OPT_IN.value, KeywordKind.HELP.value

# Built in for every merchant; merchants add their own (ConsentKeyword). Stored normalized.
DEFAULT_KEYWORDS: dict[str, dict[str, str]] = {
    "en": {
        **dict.fromkeys(
            ["stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "revoke", "optout",
             "opt-out", "opt out", "stop_promotions"],
            OPT_OUT,
        ),
        **dict.fromkeys(["start", "unstop"], OPT_IN),
        **dict.fromkeys(["help", "info"], HELP),
    },
    "es": {"baja": OPT_OUT, "alta": OPT_IN, "ayuda": HELP},
}  # fmt: skip

DEFAULT_REPLIES = {
    "en": {
        OPT_OUT: "You will no longer receive marketing messages from {merchant} here. Reply START to subscribe again.",
        OPT_IN: "You are subscribed to marketing messages from {merchant} here. Reply STOP to unsubscribe.",
        HELP: "{merchant}: reply STOP to stop marketing messages, START to receive them again.",
    },
    "es": {
        OPT_OUT: (
            "Ya no recibirás mensajes promocionales de {merchant} por aquí. Responde ALTA para volver a recibirlos."
        ),
        OPT_IN: "Recibirás mensajes promocionales de {merchant} por aquí. Responde BAJA para dejar de recibirlos.",
        HELP: "{merchant}: responde BAJA para dejar de recibir promociones, ALTA para volver a recibirlas.",
    },
}
# Merchant settings that override the replies above.
REPLY_SETTINGS = {OPT_OUT: "keyword_opt_out_reply", OPT_IN: "keyword_opt_in_reply", HELP: "help_text"}

# YES / SÍ are everyday answers in a support chat ("is the order yours?"), never opt-in keywords: they
# only confirm a pending double opt-in; after a revoke only an explicit opt-in keyword grants again.
# Normalised word -> the language of the reply.
CONFIRM_WORDS: dict[str, str] = {"yes": "en", "si": "es"}
KEYWORD_MAX_LENGTH = 40

_EDGE_PUNCTUATION = re.compile(r"^[\s¡¿\"'“”«»(\[]+|[\s.!?¡¿,;:…\"'“”«»)\]]+$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class KeywordResult:
    kind: str  # "opt_out" | "opt_in" | "help"
    reply_text: str


def keyword_normalize(text: str) -> str:
    """Case- and accent-insensitive, trimmed, inner spaces collapsed, edge punctuation dropped.

    "  Stop! " -> "stop", "¡BAJA!" -> "baja", "Opt Out." -> "opt out"; inner punctuation stays
    ("opt-out"), so "STOP please" stays a sentence.
    """
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _SPACES.sub(" ", text).strip()
    return _EDGE_PUNCTUATION.sub("", text)


def keyword_table(*, merchant: Merchant) -> dict[str, str]:
    """Every word this merchant answers to -> its kind (merchant words override defaults)."""
    table = {word: kind for words in DEFAULT_KEYWORDS.values() for word, kind in words.items()}
    table.update(dict(ConsentKeyword.objects.for_merchant(merchant).values_list("word", "kind")))
    return table


def keyword_match(*, merchant: Merchant, text: str) -> str | None:
    word = keyword_normalize(text)
    if not word or len(word) > KEYWORD_MAX_LENGTH:
        return None
    return keyword_table(merchant=merchant).get(word)


def _language_of(merchant: Merchant, contact: Contact, word: str) -> str:
    if word in DEFAULT_KEYWORDS["es"]:
        return "es"
    if word in DEFAULT_KEYWORDS["en"]:
        return "en"
    if word in CONFIRM_WORDS:
        return CONFIRM_WORDS[word]
    custom = ConsentKeyword.objects.for_merchant(merchant).filter(word=word).values_list("language", flat=True)
    language = (custom.first() or contact.locale or merchant.locale or "en")[:2]
    return language if language in DEFAULT_REPLIES else "en"


def keyword_reply(*, merchant: Merchant, kind: str, language: str) -> str:
    configured = merchant.setting(REPLY_SETTINGS[kind])
    if isinstance(configured, dict):  # per language: {"en": "...", "es": "..."}
        configured = configured.get(language) or configured.get(merchant.locale)
    template = configured or DEFAULT_REPLIES.get(language, DEFAULT_REPLIES["en"])[kind]
    return template.replace("{merchant}", merchant.name)


def _already_recorded(contact: Contact, channel: str, message_id: str) -> bool:
    # Providers deliver at least once: the same message must not append a second event.
    return (
        bool(message_id)
        and ConsentEvent.objects.filter(
            contact=contact, channel=channel, source=ConsentSource.KEYWORD, evidence_message_id=message_id
        ).exists()
    )


def _marketing_status(contact: Contact, channel: str) -> str:
    state = ConsentState.objects.filter(contact=contact, channel=channel, purpose=Purpose.MARKETING).first()
    return state.status if state else ConsentStatus.NONE


def _record(merchant: Merchant, contact: Contact, channel: str, kind: str, text: str, message_id: str) -> None:
    if contact.erased_at or contact.merged_into_id or _already_recorded(contact, channel, message_id):
        return
    action = ConsentAction.REVOKE
    if kind == OPT_IN:
        pending = _marketing_status(contact, channel) == ConsentStatus.PENDING
        action = ConsentAction.CONFIRM if pending else ConsentAction.GRANT
    consent_record(
        merchant=merchant, contact=contact, channel=channel, purpose=Purpose.MARKETING, action=action,
        source=ConsentSource.KEYWORD, wording=f"Message from the person: {text.strip()[:500]}",
        evidence_message_id=message_id, actor_label=f"Keyword on {channel}", double_opt_in=False,
    )  # fmt: skip


def keyword_handle_inbound(
    *, merchant: Merchant, contact: Contact, channel: str, text: str, message_id: str
) -> KeywordResult | None:
    """Act on a whole-message keyword; None when the message is not one.

    Opt-out revokes marketing on this channel at once; opt-in grants it (or confirms a pending
    double opt-in); help records nothing. YES / SÍ (unless the merchant made them keywords of its
    own) confirm a pending double opt-in and are an ordinary message otherwise, after a revoke too.
    The caller sends `reply_text` back as an automated message and stores the inbound message as usual.
    """
    kind = keyword_match(merchant=merchant, text=text)
    word = keyword_normalize(text)
    if kind is None and word in CONFIRM_WORDS:
        kind = OPT_IN if _marketing_status(contact, channel) == ConsentStatus.PENDING else None
    if kind is None:
        return None
    if kind in (OPT_OUT, OPT_IN):
        _record(merchant, contact, channel, kind, text, message_id)
    language = _language_of(merchant, contact, word)
    return KeywordResult(kind=kind, reply_text=keyword_reply(merchant=merchant, kind=kind, language=language))
