"""Channel configuration. Secrets are accepted here and never handed back by any read path."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

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


def _validate(channel: Channel) -> None:
    missing = {
        name: "required for a " + channel.kind + " channel"
        for name in REQUIRED[channel.kind]
        if not getattr(channel, name)
    }
    if missing:
        raise ValidationError(missing)
    if channel.phone_number_id and not inputs.is_ascii_digits(channel.phone_number_id):
        raise ValidationError({"phone_number_id": "Meta's phone number id is digits only"})
    if channel.page_id and not inputs.is_ascii_digits(channel.page_id):
        raise ValidationError({"page_id": "Meta's page id is digits only"})
    origins = channel.allowed_origins
    if not isinstance(origins, list) or not all(
        isinstance(o, str) and o.startswith(("http://", "https://")) for o in origins
    ):
        raise ValidationError({"allowed_origins": "a list of origins like https://shop.example"})
    if not isinstance(channel.settings, dict):
        raise ValidationError({"settings": "must be an object"})


def _save(channel: Channel, **kwargs) -> Channel:
    _validate(channel)
    channel.full_clean(exclude=["merchant", "public_key"], validate_constraints=False)
    try:
        with transaction.atomic():
            channel.save(**kwargs)
    except IntegrityError:
        field = "phone_number_id" if channel.kind == ChannelKind.WHATSAPP else "page_id"
        raise ValidationError({field: "is already connected to a channel"}) from None
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
def channel_widget_settings_update(*, channel: Channel, allowed_origins: list[str], widget_settings: dict) -> Channel:
    """The widget page's save: merged into the row's current settings under a lock, so keys the page does not
    show (set through the API meanwhile) survive."""
    locked = Channel.objects.select_for_update().get(pk=channel.pk)
    locked.allowed_origins = allowed_origins
    locked.settings = {**(locked.settings or {}), **widget_settings}
    return _save(locked, update_fields=["allowed_origins", "settings", "updated_at"])


class ChannelInUse(Exception):
    """Deleting would delete its conversations' history; switch it off (is_active=false) instead."""


def channel_delete(*, channel: Channel) -> None:
    if channel.conversations.exists():
        raise ChannelInUse("The channel has conversations: switch it off (is_active=false) instead of deleting it.")
    channel.delete()
