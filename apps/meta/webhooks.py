"""Meta's webhook bodies read into typed events: plain frozen dataclasses, no models, no domain app.

`parse_whatsapp` and `parse_messenger` read a whole body into `Parsed`: the events, each with the account
it was sent to (a phone number id, a page id), and a `ParseProblem` for every part that is not the shape
Meta documents, so one malformed entry never hides the good ones beside it. Conversations applies the
events (per provider, in `services/inbound/`) and publishes the ones higher apps care about through
`apps.meta.dispatch`. Values are read totally (`apps.meta.values`): a wrong JSON type reads as empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from apps.meta.content import (
    Content,
    messenger_message_content,
    messenger_postback_content,
    wa_message_content,
)
from apps.meta.values import as_dict, as_list, millis, seconds, text

STATUSES = ("sent", "delivered", "read", "failed")


@dataclass(frozen=True)
class StatusUpdate:
    """A sent message's status: WhatsApp `statuses[]` or a Messenger delivery `mids[]` entry."""

    message_id: str
    status: str  # Meta's word: sent, delivered, read, failed (or one we do not know, kept as sent)
    timestamp: datetime
    error_code: str = ""
    error_message: str = ""
    opaque: Any = None  # biz_opaque_callback_data exactly as we sent it (campaigns put the delivery id there)
    conversation_category: str = ""
    pricing_category: str = ""
    # The item as Meta sent it: a status that arrives before our send stored its id is retried from it.
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class TemplateReview:
    """`message_template_status_update`: Meta approved, rejected, paused … a template."""

    name: str
    language: str
    event: str
    reason: str
    raw: dict


@dataclass(frozen=True)
class TemplateCategoryChange:
    """`template_category_update`. Meta announces a change ahead (`correct_category`) and again once made
    (`previous_category`): only a completed change is the template's category now."""

    name: str
    language: str
    category: str
    completed: bool
    raw: dict


@dataclass(frozen=True)
class PreferenceChange:
    """One WhatsApp `user_preferences[]` item: the person stopped or resumed a category of messages."""

    wa_id: str
    user_id: str
    category: str  # Meta's: marketing_messages
    value: str  # Meta's: stop, resume
    detail: str
    timestamp: Any  # Meta's own value, unconverted: our evidence ids are built from it

    @property
    def marketing(self) -> bool:
        """A marketing opt-out or opt-in, the only preference Meta sends today."""
        return self.category == "marketing_messages" and self.value in ("stop", "resume")


# Plain kinds of an InboundMessage: what the item does, not how Meta spells its type.
MESSAGE = "message"  # content a person wrote or sent (text, media, location, contacts, order, form answers)
UNSUPPORTED = "unsupported"  # a type we cannot read: kept with Meta's own data in the content's metadata
REACTION = "reaction"  # an emoji set on (or, empty, removed from) the message `target_id` names
EDIT = "edit"  # new content for the message `target_id` names
SYSTEM = "system"  # Meta's notice about the person (number or security-code change): see `identity_change`
POSTBACK = "postback"  # Messenger: a tapped button (its payload is the content's metadata)
QUICK_REPLY = "quick_reply"  # Messenger: a tapped quick reply (a message whose payload the keyword engine reads)

NUMBER_CHANGES = ("customer_changed_number", "user_changed_number")  # Meta's older and current names


@dataclass(frozen=True)
class Referral:
    """Where a conversation started: a click-to-WhatsApp ad, or a Messenger ad, m.me link or plugin."""

    source_url: str = ""
    source_id: str = ""
    source_type: str = ""
    ctwa_clid: str = ""  # WhatsApp: the click id Meta's conversion API takes back
    ref: str = ""  # Messenger: the `ref` parameter of the link
    ad_id: str = ""
    source: str = ""  # Messenger: ADS, SHORTLINK, CUSTOMER_CHAT_PLUGIN …


@dataclass(frozen=True)
class IdentityChange:
    """A WhatsApp system notice: the person changed their number (`new_wa_id`) or their security code."""

    notice: str  # Meta's type: user_changed_number, customer_changed_number, customer_identity_changed …
    body: str  # the sentence to show, Meta's or ours when Meta sent none
    new_wa_id: str
    system: dict  # Meta's `system` and `identity` objects, kept on the note as evidence
    identity: dict

    @property
    def number_changed(self) -> bool:
        return self.notice in NUMBER_CHANGES and bool(self.new_wa_id)


@dataclass(frozen=True)
class InboundMessage:
    """One item a person sent: a WhatsApp `messages[]` item or a Messenger `messaging[]` message/postback."""

    kind: str  # one of the plain kinds above
    message_id: str  # wamid / mid (a postback without one gets a stable id from sender and time)
    timestamp: datetime
    wa_id: str = ""  # WhatsApp: the number's digits (absent when the person hides it)
    user_id: str = ""  # WhatsApp: the business-scoped user id (BSUID)
    psid: str = ""  # Messenger: the page-scoped id
    profile_name: str = ""
    content: Content | None = None  # None for a reaction and a system notice
    context: dict = field(default_factory=dict)  # what it replies to, as Meta sent it
    referral: Referral | None = None
    target_id: str = ""  # reaction, edit: the message it changes
    emoji: str = ""  # reaction: "" removes it
    identity_change: IdentityChange | None = None


@dataclass(frozen=True)
class Watermark:
    """Messenger: every message sent to `psid` up to `until` was delivered (or read)."""

    psid: str
    status: str  # delivered, read
    until: datetime


@dataclass(frozen=True)
class AccountUpdate:
    """WhatsApp `account_update`: the business account was verified, restricted, banned …"""

    event: str
    phone_number: str
    raw: dict


@dataclass(frozen=True)
class ErrorReport:
    """An error Meta reports inside a `messages` value rather than about one of our sends."""

    detail: str


@dataclass(frozen=True)
class Unhandled:
    """A change or item of a kind Charla does not act on (kept in the stored body, counted as ignored)."""

    field: str


Event = (
    InboundMessage
    | StatusUpdate
    | Watermark
    | PreferenceChange
    | TemplateReview
    | TemplateCategoryChange
    | AccountUpdate
    | ErrorReport
    | Unhandled
)


class Routed(NamedTuple):
    """An event and the account it was sent to: a phone number id or page id, "" when Meta names none."""

    to: str
    event: Event


@dataclass(frozen=True)
class ParseProblem:
    """A part of the body that is not the shape Meta documents: recorded, never retried, the rest applied."""

    entry_index: int
    field: str  # where in the entry, e.g. changes[0].value.messages[1]
    reason: str

    def __str__(self) -> str:
        return f"entry {self.entry_index}: {self.field}: {self.reason}"


@dataclass
class Parsed:
    events: list[Routed] = field(default_factory=list)
    problems: list[ParseProblem] = field(default_factory=list)


def wa_status(item: dict) -> StatusUpdate:
    """One WhatsApp `statuses[]` item; the first error names the failure."""
    error = next(iter(map(as_dict, as_list(item.get("errors")))), {})
    details = as_dict(error.get("error_data")).get("details")
    conversation = as_dict(item.get("conversation"))
    return StatusUpdate(
        message_id=str(item.get("id") or ""),
        status=str(item.get("status") or ""),
        timestamp=seconds(item.get("timestamp")),
        error_code=str(error.get("code") or ""),
        error_message=str(details or error.get("message") or error.get("title") or ""),
        opaque=item.get("biz_opaque_callback_data"),
        conversation_category=str(as_dict(conversation.get("origin")).get("type") or ""),
        pricing_category=str(as_dict(item.get("pricing")).get("category") or ""),
        raw=item,
    )


def messenger_deliveries(delivery: dict) -> list[StatusUpdate]:
    """A Messenger `delivery`: one `delivered` per named mid, at the watermark's time."""
    at = millis(delivery.get("watermark"))
    return [
        StatusUpdate(message_id=mid, status="delivered", timestamp=at)
        for mid in map(str, as_list(delivery.get("mids")))
    ]


def wa_template_review(value: dict) -> TemplateReview:
    return TemplateReview(
        name=str(value.get("message_template_name") or ""),
        language=str(value.get("message_template_language") or ""),
        event=str(value.get("event") or ""),
        reason=str(value.get("reason") or ""),
        raw=value,
    )


def wa_template_category(value: dict) -> TemplateCategoryChange:
    return TemplateCategoryChange(
        name=str(value.get("message_template_name") or ""),
        language=str(value.get("message_template_language") or ""),
        category=str(value.get("new_category") or ""),
        completed="previous_category" in value,
        raw=value,
    )


def wa_preference(item: dict) -> PreferenceChange:
    return PreferenceChange(
        wa_id=str(item.get("wa_id") or ""),
        user_id=str(item.get("user_id") or ""),
        category=str(item.get("category") or ""),
        value=str(item.get("value") or ""),
        detail=str(item.get("detail") or ""),
        timestamp=item.get("timestamp"),
    )


def wa_referral(value: Any) -> Referral | None:
    referral = as_dict(value)
    if not referral:
        return None
    keys = ("source_url", "source_id", "source_type", "ctwa_clid")
    return Referral(**{key: text(referral.get(key)) for key in keys})


def messenger_referral(value: Any) -> Referral | None:
    referral = as_dict(value)
    if not referral:
        return None
    keys = ("source_url", "source_type", "ref", "ad_id", "source")
    return Referral(**{key: text(referral.get(key)) for key in keys})


# --------------------------------------------------------------------------- whole bodies
class _Reader:
    """Collects events and problems while walking one body; `where` names the part being read."""

    def __init__(self) -> None:
        self.parsed = Parsed()

    def objects(self, value: Any, index: int, where: str) -> Iterator[tuple[str, dict]]:
        """The objects of a list Meta documents; a missing list is empty, anything else is a problem."""
        if value is None:
            return
        if not isinstance(value, list):
            self.problem(index, where, "not a list")
            return
        for position, item in enumerate(value):
            if isinstance(item, dict):
                yield f"{where}[{position}]", item
            else:
                self.problem(index, f"{where}[{position}]", "not an object")

    @staticmethod
    def guarded(read: Callable[..., tuple[Any, Any]], *args: Any) -> tuple[Any, Any]:
        """read(*args) -> (what it read, reason); an item no reader foresaw is a problem of that item alone,
        as a failing item was before parsing moved here (the rest of the body is still read)."""
        try:
            return read(*args)
        except Exception as exc:
            return None, f"unreadable: {exc.__class__.__name__}: {exc}"[:300]

    def problem(self, index: int, where: str, reason: str) -> None:
        self.parsed.problems.append(ParseProblem(index, where, reason))

    def add(self, to: str, event: Event) -> None:
        self.parsed.events.append(Routed(to, event))


def _entries(reader: _Reader, data: dict) -> Iterator[tuple[int, dict]]:
    entries = data.get("entry")
    if entries is not None and not isinstance(entries, list):
        reader.problem(0, "entry", "not a list")
    for index, entry in enumerate(as_list(entries)):
        if isinstance(entry, dict):
            yield index, entry
        else:
            reader.problem(index, "entry", "not an object")


def parse_whatsapp(data: dict) -> Parsed:
    """A WhatsApp Cloud API body (`object: whatsapp_business_account`): entries of changes, one per field."""
    reader = _Reader()
    for index, entry in _entries(reader, data):
        for where, change in reader.objects(entry.get("changes"), index, "changes"):
            kind, value = text(change.get("field")), change.get("value")
            if not isinstance(value, dict):
                reader.problem(index, f"{where}.value", "not an object")
                continue
            reader_fn = _WA_FIELDS.get(kind)
            if reader_fn is None:
                reader.add("", Unhandled(kind))
            else:
                reader_fn(reader, index, f"{where}.value", value)
    return reader.parsed


def _wa_messages(reader: _Reader, index: int, where: str, value: dict) -> None:
    to = text(as_dict(value.get("metadata")).get("phone_number_id"))
    names = _wa_profile_names(value)
    for item_where, item in reader.objects(value.get("messages"), index, f"{where}.messages"):
        message, reason = reader.guarded(wa_message, item, names)
        if message is None:
            reader.problem(index, item_where, reason)
        else:
            reader.add(to, message)
    for _, item in reader.objects(value.get("statuses"), index, f"{where}.statuses"):
        reader.add(to, wa_status(item))
    for error in as_list(value.get("errors")):
        reader.add(to, ErrorReport(str(error)[:500]))


def _wa_preferences(reader: _Reader, index: int, where: str, value: dict) -> None:
    to = text(as_dict(value.get("metadata")).get("phone_number_id"))
    for _, item in reader.objects(value.get("user_preferences"), index, f"{where}.user_preferences"):
        reader.add(to, wa_preference(item))


def _wa_template_review(reader: _Reader, index: int, where: str, value: dict) -> None:
    reader.add("", wa_template_review(value))


def _wa_template_category(reader: _Reader, index: int, where: str, value: dict) -> None:
    reader.add("", wa_template_category(value))


def _wa_account_update(reader: _Reader, index: int, where: str, value: dict) -> None:
    reader.add("", AccountUpdate(text(value.get("event")), text(value.get("phone_number")), value))


_WA_FIELDS: dict[str, Callable[[_Reader, int, str, dict], None]] = {
    "messages": _wa_messages,
    "user_preferences": _wa_preferences,
    "message_template_status_update": _wa_template_review,
    "template_category_update": _wa_template_category,
    "account_update": _wa_account_update,
}


def _wa_profile_names(value: dict) -> dict[str, str]:
    """The `contacts[]` cards: the profile name under each id (wa_id and user id) they carry."""
    names = {}
    for card in map(as_dict, as_list(value.get("contacts"))):
        name = text(as_dict(card.get("profile")).get("name"))
        for key in ("wa_id", "user_id"):
            if card.get(key):
                names[str(card[key])] = name
    return names


def wa_message(item: dict, names: dict[str, str]) -> tuple[InboundMessage | None, str]:
    """One WhatsApp `messages[]` item, or (None, why it cannot be one)."""
    wa_id, user_id, message_id = text(item.get("from")), text(item.get("from_user_id")), text(item.get("id"))
    if not message_id:
        return None, "a message without an id"
    if not wa_id and not user_id:
        return None, "a message without a sender (neither from nor from_user_id)"
    kind = text(item.get("type"))
    base = {
        "message_id": message_id,
        "timestamp": seconds(item.get("timestamp")),
        "wa_id": wa_id,
        "user_id": user_id,
        "profile_name": names.get(wa_id) or names.get(user_id, ""),
        "context": as_dict(item.get("context")),
        "referral": wa_referral(item.get("referral")),
    }
    return _WA_KINDS.get(kind, _wa_content)(item, base), ""


def _wa_content(item: dict, base: dict) -> InboundMessage:
    content = wa_message_content(item)
    kind = UNSUPPORTED if "unsupported" in content.metadata else MESSAGE
    return InboundMessage(kind=kind, content=content, **base)


def _wa_reaction(item: dict, base: dict) -> InboundMessage:
    reaction = as_dict(item.get("reaction"))
    target, emoji = text(reaction.get("message_id")), text(reaction.get("emoji"))
    return InboundMessage(kind=REACTION, target_id=target, emoji=emoji, **base)


def _wa_edit(item: dict, base: dict) -> InboundMessage:
    edit = as_dict(item.get("edit"))
    content = wa_message_content(as_dict(edit.get("message")))
    return InboundMessage(kind=EDIT, target_id=text(edit.get("original_message_id")), content=content, **base)


def _wa_system(item: dict, base: dict) -> InboundMessage:
    system = as_dict(item.get("system"))
    notice = text(system.get("type"))
    change = IdentityChange(
        notice=notice,
        body=text(system.get("body")) or f"WhatsApp notice: {notice or 'system'}",
        new_wa_id=text(system.get("new_wa_id") or system.get("wa_id")),
        system=system,
        identity=as_dict(item.get("identity")),
    )
    return InboundMessage(kind=SYSTEM, identity_change=change, **base)


_WA_KINDS: dict[str, Callable[[dict, dict], InboundMessage]] = {
    "reaction": _wa_reaction,
    "edit": _wa_edit,
    "system": _wa_system,
}


def parse_messenger(data: dict) -> Parsed:
    """A Messenger Platform body (`object: page`): entries per page, each with `messaging[]` items."""
    reader = _Reader()
    for index, entry in _entries(reader, data):
        to = text(entry.get("id"))
        for where, item in reader.objects(entry.get("messaging"), index, "messaging"):
            events, reason = reader.guarded(messenger_item, item)
            if reason:
                reader.problem(index, where, reason)
            for event in events or []:
                reader.add(to, event)
    return reader.parsed


def messenger_item(item: dict) -> tuple[list[Event], str]:
    """The events of one `messaging[]` item, or ([], why it cannot be read)."""
    psid = text(as_dict(item.get("sender")).get("id"))
    message = as_dict(item.get("message"))
    if message and not message.get("is_echo"):  # an echo is our own page's message coming back
        return _messenger_message(item, psid, message)
    if item.get("postback"):
        return _messenger_postback(item, psid, as_dict(item["postback"]))
    if item.get("delivery"):
        delivery = as_dict(item["delivery"])
        marks = [Watermark(psid, "delivered", millis(delivery["watermark"]))] if delivery.get("watermark") else []
        return [*messenger_deliveries(delivery), *marks], ""
    if item.get("read"):
        return [Watermark(psid, "read", millis(as_dict(item["read"]).get("watermark")))], ""
    return [Unhandled("messaging")], ""


def _messenger_message(item: dict, psid: str, message: dict) -> tuple[list[Event], str]:
    mid = text(message.get("mid"))
    if not psid or not mid:
        return [], "a message without a sender id or a mid"
    content = messenger_message_content(message)
    return [
        InboundMessage(
            kind=QUICK_REPLY if message.get("quick_reply") else MESSAGE,
            message_id=mid,
            timestamp=millis(item.get("timestamp")),
            psid=psid,
            content=content,
            context=as_dict(message.get("reply_to")),
            referral=messenger_referral(message.get("referral") or item.get("referral")),
        )
    ], ""


def _messenger_postback(item: dict, psid: str, postback: dict) -> tuple[list[Event], str]:
    if not psid:
        return [], "a postback without a sender id"
    return [
        InboundMessage(
            kind=POSTBACK,
            # Meta gives older postbacks no mid: sender and time identify a redelivery of the same tap.
            message_id=text(postback.get("mid")) or f"postback:{psid}:{item.get('timestamp')}",
            timestamp=millis(item.get("timestamp")),
            psid=psid,
            content=messenger_postback_content(postback),
            referral=messenger_referral(postback.get("referral")),
        )
    ], ""
