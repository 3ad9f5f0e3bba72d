"""Channel configuration. Secrets are accepted here and never handed back by any read path.

The rules a channel's fields obey live here once: the API serializer and the Settings forms both hand
their input to `channel_create` / `channel_update` and show the `ValidationError` this module raises.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.conversations import widget
from apps.conversations.models import Channel, ChannelKind
from apps.core import inputs

EDITABLE = (
    "name",
    "is_active",
    "phone_number_id",
    "page_id",
    "access_token",
    "app_secret",
    "verify_token",
    "allowed_origins",
    "settings",
)
REQUIRED = {
    ChannelKind.WHATSAPP: ("phone_number_id", "access_token", "app_secret", "verify_token"),
    ChannelKind.MESSENGER: ("page_id", "access_token", "app_secret", "verify_token"),
    ChannelKind.WEBCHAT: (),
}
# What to say when a required field is empty: where the merchant finds the value in Meta's screens.
MISSING = {
    "phone_number_id": "Enter the phone number id (WhatsApp Manager → API Setup, digits only).",
    "page_id": "Enter the page id (the page's About → Page transparency, digits only).",
    "access_token": "Paste an access token (a system user's permanent token with the messaging permission).",
    "app_secret": "Paste the app secret (your Meta app → App settings → Basic).",
    "verify_token": "Choose a verify token: any text, typed again in Meta's webhook form.",
}
# Meta's ids are digits; a settings key is named by its field (the WABA id is kept in `settings`).
DIGITS = {
    "phone_number_id": "Meta's phone number id is digits only",
    "page_id": "Meta's page id is digits only",
    "waba_id": "Meta's WhatsApp Business Account id is digits only",
}
ALREADY_CONNECTED = {
    ChannelKind.WHATSAPP: ("phone_number_id", "This number is already connected"),
    ChannelKind.MESSENGER: ("page_id", "This page is already connected"),
}
SECRET_MAX_LENGTH = 1000


def _validate(channel: Channel) -> None:
    errors: dict[str, str] = {}
    if not (channel.name or "").strip():
        errors["name"] = "Give the channel a name."
    errors |= {name: MISSING[name] for name in REQUIRED[channel.kind] if not getattr(channel, name)}
    if not isinstance(channel.settings, dict):
        raise ValidationError({**errors, "settings": "must be an object"})
    values = {
        "phone_number_id": channel.phone_number_id,
        "page_id": channel.page_id,
        "waba_id": str(channel.settings.get("waba_id") or ""),
    }
    errors |= {
        name: message
        for name, message in DIGITS.items()
        if values[name] and not inputs.is_ascii_digits(values[name]) and name not in errors
    }
    errors |= {
        name: f"Use at most {SECRET_MAX_LENGTH} characters."
        for name in Channel.SECRET_FIELDS
        if len(getattr(channel, name) or "") > SECRET_MAX_LENGTH
    }
    if origins_error := _origins_problem(channel.allowed_origins):
        errors["allowed_origins"] = origins_error
    if errors:
        raise ValidationError(errors)
    _unique_meta_id(channel)


def _origins_problem(origins: object) -> str | None:
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        return "a list of origins like https://shop.example"
    problems = [problem for origin in origins if (problem := widget.origin_problem(origin))]
    return " ".join(problems) or None


def _unique_meta_id(channel: Channel) -> None:
    """Checked before the write for the words; the database constraint still settles a race (see `_save`)."""
    if channel.kind not in ALREADY_CONNECTED:
        return
    field, message = ALREADY_CONNECTED[channel.kind]
    taken = Channel.objects.filter(kind=channel.kind, **{field: getattr(channel, field)}).exclude(pk=channel.pk)
    if taken.exists():
        raise ValidationError({field: message})


def _save(channel: Channel, **kwargs) -> Channel:
    _validate(channel)
    channel.full_clean(exclude=["merchant", "public_key"], validate_constraints=False)
    try:
        with transaction.atomic():
            channel.save(**kwargs)
    except IntegrityError:
        field, message = ALREADY_CONNECTED.get(channel.kind, ("phone_number_id", "is already connected"))
        raise ValidationError({field: message}) from None
    return channel


def channel_create(*, merchant, kind: str, name: str, **fields) -> Channel:
    if kind not in ChannelKind.values:
        raise ValidationError({"kind": f"must be one of {', '.join(ChannelKind.values)}"})
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "unknown field"))
    channel = Channel(merchant=merchant, kind=kind, name=name, **{k: v for k, v in fields.items() if v is not None})
    return _save(channel)


def channel_update(*, channel: Channel, **fields) -> Channel:
    for name, value in fields.items():
        if name not in EDITABLE:
            raise ValidationError({name: "cannot be changed"})
        setattr(channel, name, value)
    return _save(channel)


@transaction.atomic
def channel_connection_save(*, channel: Channel, name: str, ids: dict, secrets: dict, settings: dict) -> Channel:
    """The Settings form's save of a WhatsApp or Messenger channel: an empty secret keeps the stored one
    (the form never shows them back), and `settings` keys are merged into what the API may have set."""
    if channel.pk is not None:
        channel = Channel.objects.select_for_update().get(pk=channel.pk)
    channel.name = name
    for field, value in ids.items():
        setattr(channel, field, value)
    for field, value in secrets.items():
        if value:
            setattr(channel, field, value)
    channel.settings = {**(channel.settings or {}), **settings}
    return _save(channel)


@transaction.atomic
def channel_widget_settings_update(
    *, channel: Channel, allowed_origins: list[str], widget_settings: dict, name: str | None = None
) -> Channel:
    """The widget page's save: merged into the row's current settings under a lock, so keys the page does not
    show (set through the API meanwhile) survive."""
    locked = Channel.objects.select_for_update().get(pk=channel.pk)
    locked.allowed_origins = allowed_origins
    locked.settings = {**(locked.settings or {}), **widget_settings}
    if name is not None:
        locked.name = name
    return _save(locked, update_fields=["name", "allowed_origins", "settings", "updated_at"])


def channel_set_active(*, channel: Channel, is_active: bool) -> Channel:
    """Disabled: webhooks and widget calls for it are refused and nothing is sent through it; history stays."""
    channel.is_active = is_active
    channel.save(update_fields=["is_active", "updated_at"])
    return channel


class ChannelInUse(Exception):
    """Deleting would delete its conversations' history; switch it off (is_active=false) instead."""


def channel_delete(*, channel: Channel) -> None:
    if channel.conversations.exists():
        raise ChannelInUse("The channel has conversations: switch it off (is_active=false) instead of deleting it.")
    channel.delete()
