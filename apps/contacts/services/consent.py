"""The consent ledger's one write path: append an event, derive the state in the same transaction."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import URLValidator
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from apps.contacts.models import (
    ConsentAction,
    ConsentChannel,
    ConsentEvent,
    ConsentSource,
    ConsentState,
    ConsentStatus,
    Contact,
    Purpose,
)
from apps.core.enqueue import enqueue_on_commit
from apps.merchants.models import Merchant

# A grant from a form the person filled in is only a claim until they confirm it on the channel
# (or through the signed link) when the merchant enables double opt-in.
DOUBLE_OPT_IN_SOURCES = frozenset({ConsentSource.WEB_FORM, ConsentSource.WIDGET})
# Sources where the system writes the evidence itself; every other event needs the wording shown.
WORDING_OPTIONAL_SOURCES = frozenset(
    {ConsentSource.KEYWORD, ConsentSource.PROVIDER_PREFERENCE, ConsentSource.PROVIDER_ERROR}
)
# What an API caller may claim as the source. The other sources record what Charla observed itself (a
# keyword message, Meta's preference webhook or error code) and carry evidence only the system writes;
# a caller claiming them would record consent without any proof. Every caller event needs the wording.
CALLER_SOURCES = (
    ConsentSource.WEB_FORM, ConsentSource.WIDGET, ConsentSource.IMPORT, ConsentSource.API, ConsentSource.AGENT,
)  # fmt: skip
CONFIRM_SALT = "contacts.consent.confirm"
# Clocks of form servers and providers drift a little; evidence from further in the future would
# make every real event after it look late and never take effect.
MAX_CLOCK_SKEW = timedelta(minutes=5)
CONFIRM_MAX_AGE = 60 * 60 * 24 * 14
# Meta's user_preferences timestamps are whole seconds: such an event happened somewhere in [at, at + 1 s).
SECOND_RESOLUTION_SOURCES = frozenset({ConsentSource.PROVIDER_PREFERENCE})


def consent_next_status(*, current: str, action: str, double_opt_in: bool) -> str:
    """The ledger's state machine (pure, so tests can model it)."""
    if action == ConsentAction.REVOKE:
        return ConsentStatus.REVOKED
    if action == ConsentAction.CONFIRM:
        return ConsentStatus.GRANTED if current == ConsentStatus.PENDING else current
    if current == ConsentStatus.GRANTED:
        return ConsentStatus.GRANTED  # a repeated form grant never downgrades a confirmed consent
    return ConsentStatus.PENDING if double_opt_in else ConsentStatus.GRANTED


def consent_time_resolution(source: str) -> timedelta:
    """How far after its recorded `occurred_at` an event from this source may really have happened."""
    return timedelta(seconds=1) if source in SECOND_RESOLUTION_SOURCES else timedelta(0)


def consent_event_late(
    *, action: str, at: datetime, source: str, last_action: str, last_at: datetime, last_source: str
) -> bool:
    """Did this event happen before the state's last effective event (so it is kept but changes nothing)?

    Events are ordered by when the person acted. When the order of a revoke and a grant (or confirm)
    cannot be told (their possible times overlap, an exact tie included), the revoke wins: such a
    revoke is never late, such a grant always is. Pure, so the property tests can model it.
    """
    overlap = at <= last_at + consent_time_resolution(last_source) and last_at <= at + consent_time_resolution(source)
    revoke, last_revoke = action == ConsentAction.REVOKE, last_action == ConsentAction.REVOKE
    if overlap and revoke != last_revoke:
        return not revoke
    return at < last_at


def _choice(errors: dict, name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        errors[name] = [f"“{value}” is not valid; choose one of: {', '.join(choices)}."]


def consent_validate(
    *,
    channel: str,
    purpose: str,
    action: str,
    source: str,
    wording: str,
    evidence_url: str,
    ip_address,
    sources: Sequence[str] = ConsentSource.values,
) -> None:
    """ValidationError naming each bad field, before anything is written (`sources`: those the writer may claim)."""
    errors: dict[str, list[str]] = {}
    _choice(errors, "channel", channel, ConsentChannel.values)
    _choice(errors, "purpose", purpose, Purpose.values)
    _choice(errors, "action", action, ConsentAction.values)
    _choice(errors, "source", source, sources)
    if source in ConsentSource.values and source not in WORDING_OPTIONAL_SOURCES and not (wording or "").strip():
        errors["wording"] = ["Give the exact wording the person was shown or told; it is the proof of consent."]
    if evidence_url:
        try:
            URLValidator(schemes=["http", "https"])(evidence_url)
        except ValidationError:
            errors["evidence_url"] = ["Enter a valid http(s) URL."]
    if ip_address:
        try:
            ipaddress.ip_address(ip_address)
        except ValueError:
            errors["ip_address"] = ["Enter a valid IPv4 or IPv6 address."]
    if errors:
        raise ValidationError(errors)


def _locked_contact(merchant: Merchant, contact: Contact) -> Contact:
    # One lock per contact serialises its consent writes, including the very first one per channel.
    locked = Contact.objects.select_for_update().filter(pk=contact.pk, merchant_id=merchant.pk).first()
    if locked is None:
        raise ValidationError({"contact": ["This contact belongs to another merchant."]})
    if locked.erased_at:
        raise ValidationError({"contact": ["This contact was erased; create a new contact to record consent."]})
    if locked.merged_into_id:
        raise ValidationError({"contact": [f"This contact was merged into #{locked.merged_into_id}."]})
    return locked


def _state_apply(*, state: ConsentState | None, event: ConsentEvent) -> None:
    if state is None:
        ConsentState.objects.create(
            merchant_id=event.merchant_id,
            contact_id=event.contact_id,
            channel=event.channel,
            purpose=event.purpose,
            status=event.resulting_status,
            since=event.occurred_at,
            last_event=event,
        )
        return
    if state.status != event.resulting_status:
        state.since = event.occurred_at
    state.status = event.resulting_status
    state.last_event = event
    state.save(update_fields=["status", "since", "last_event"])


@transaction.atomic
def consent_record(
    *,
    merchant: Merchant,
    contact: Contact,
    channel: str,
    purpose: str,
    action: str,
    source: str,
    wording: str = "",
    evidence_url: str = "",
    evidence_message_id: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
    actor=None,
    actor_label: str = "",
    occurred_at: datetime | None = None,
    double_opt_in: bool | None = None,
    sources: Sequence[str] = ConsentSource.values,
) -> ConsentEvent:
    """Append one ledger event and update the contact's ConsentState in the same transaction.

    An event that happened before the state's last effective event (a late import of old
    evidence) is kept in the ledger but does not change the state; where the order of a revoke and
    a grant is uncertain, the revoke wins (`consent_event_late`). `double_opt_in` overrides the
    merchant setting (None = use `merchant.settings["double_opt_in"]`); `sources` narrows the sources
    the writer may claim (`CALLER_SOURCES` for the API).
    """
    consent_validate(
        channel=channel, purpose=purpose, action=action, source=source,
        wording=wording, evidence_url=evidence_url, ip_address=ip_address, sources=sources,
    )  # fmt: skip
    now = timezone.now()
    if occurred_at is not None and occurred_at > now + MAX_CLOCK_SKEW:
        raise ValidationError({"occurred_at": ["Consent cannot be dated in the future."]})
    _locked_contact(merchant, contact)
    occurred_at = occurred_at or now
    state = (
        ConsentState.objects.filter(contact=contact, channel=channel, purpose=purpose)
        .select_related("last_event")
        .first()
    )
    current = state.status if state else ConsentStatus.NONE
    late = state is not None and consent_late_against(
        action=action, occurred_at=occurred_at, source=source, last=state.last_event
    )
    if double_opt_in is None:
        double_opt_in = bool(merchant.setting("double_opt_in", False))
    doi = double_opt_in and source in DOUBLE_OPT_IN_SOURCES
    resulting = current if late else consent_next_status(current=current, action=action, double_opt_in=doi)
    event = ConsentEvent.objects.create(
        merchant=merchant, contact=contact, channel=channel, purpose=purpose, action=action, source=source,
        wording=wording or "", evidence_url=evidence_url or "", evidence_message_id=evidence_message_id or "",
        ip_address=ip_address or None, user_agent=(user_agent or "")[:500], actor=actor,
        actor_label=(actor_label or "")[:200], resulting_status=resulting, occurred_at=occurred_at,
    )  # fmt: skip
    if not late:
        _state_apply(state=state, event=event)
    return event


def consent_late_against(*, action: str, occurred_at: datetime, source: str, last: ConsentEvent) -> bool:
    """`consent_event_late` against the state's last effective event (the ledger's writers call this)."""
    return consent_event_late(
        action=action, at=occurred_at, source=source,
        last_action=last.action, last_at=last.occurred_at, last_source=last.source,
    )  # fmt: skip


# ------------------------------------------------------------------ double opt-in by signed link
def consent_confirm_token(*, event: ConsentEvent) -> str:
    """A signed token naming the pending grant; the link in the confirmation message carries it."""
    return signing.dumps(
        {"m": event.merchant_id, "c": event.contact_id, "ch": event.channel, "p": event.purpose, "e": event.pk},
        salt=CONFIRM_SALT,
    )


def consent_confirm_url(*, event: ConsentEvent, base_url: str | None = None) -> str:
    """The public link that confirms this pending grant (the signed-token page)."""
    path = reverse("contacts:confirm", args=[consent_confirm_token(event=event)])
    return (base_url or settings.PUBLIC_BASE_URL).rstrip("/") + path


def consent_confirmation_email(*, event: ConsentEvent, base_url: str | None = None) -> bool:
    """Ask the owner of the contact's address to confirm a pending e-mail grant; False when not pending.

    Typing an address proves nothing, so the link goes to that address, by a task after commit (the
    request that recorded the grant never waits for the mail server).
    """
    email = event.contact.email
    if event.resulting_status != ConsentStatus.PENDING or event.channel != ConsentChannel.EMAIL or not email:
        return False
    enqueue_on_commit("apps.contacts.tasks.consent_confirmation_email_send", event.pk, email, base_url or "")
    return True


def consent_confirmation_email_send(*, event_id: int, email: str, base_url: str = "") -> bool:
    """Mail the confirmation link to `email` while the grant is pending and the contact still has that address
    (the one the grant was given for); False when there is nothing to ask."""
    event = ConsentEvent.objects.select_related("contact", "merchant").get(pk=event_id)
    contact = event.contact
    state = ConsentState.objects.filter(contact=contact, channel=event.channel, purpose=event.purpose).first()
    if state is None or state.status != ConsentStatus.PENDING or contact.erased_at:
        return False
    if contact.email.lower() != email.lower():
        return False
    link = consent_confirm_url(event=event, base_url=base_url)
    body = render_to_string(
        "contacts/email/consent_confirm.txt", {"email": contact.email, "merchant": event.merchant.name, "link": link}
    )
    send_mail(f"Confirm your subscription to {event.merchant.name}", body, None, [contact.email])
    return True


class ConfirmationInvalid(Exception):
    pass


def consent_confirm_by_token(*, token: str, ip_address: str | None = None, user_agent: str = "") -> ConsentEvent | None:
    """Confirm the pending grant the token names; None when nothing was pending any more."""
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
        merchant = Merchant.objects.get(pk=data["m"])
        contact = Contact.objects.for_merchant(merchant).get(pk=data["c"])
    except (signing.BadSignature, KeyError, TypeError, Merchant.DoesNotExist, Contact.DoesNotExist):
        raise ConfirmationInvalid("This confirmation link is invalid or has expired.") from None
    state = ConsentState.objects.filter(contact=contact, channel=data["ch"], purpose=data["p"]).first()
    if state is None or state.status != ConsentStatus.PENDING:
        return None
    return consent_record(
        merchant=merchant, contact=contact, channel=data["ch"], purpose=data["p"],
        action=ConsentAction.CONFIRM, source=ConsentSource.WEB_FORM,
        wording=f"Confirmed through the signed link sent for request #{data['e']}.",
        ip_address=ip_address, user_agent=user_agent, actor_label="Confirmation link",
    )  # fmt: skip
