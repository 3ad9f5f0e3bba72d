"""Channel secrets at rest: encrypted columns, round trips, key rotation and a clear error for a lost key."""

from __future__ import annotations

import importlib
import io
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from apps.conversations.models import Channel
from apps.core.crypto import SecretDecryptionError
from tests.factories.conversations import ChannelFactory

pytestmark = pytest.mark.django_db
SECRETS = {"access_token": "EAAG-plain-token-123", "app_secret": "app-secret-456", "verify_token": "verify-789"}


def _raw(channel: Channel) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, app_secret, verify_token FROM conversations_channel WHERE id = %s", [channel.pk]
        )
        return dict(zip(SECRETS, cursor.fetchone(), strict=True))


@pytest.mark.postgres
def test_the_columns_hold_no_plaintext_and_values_round_trip(merchant):
    channel = ChannelFactory(merchant=merchant, **SECRETS)
    raw = _raw(channel)
    for name, plain in SECRETS.items():
        assert plain not in raw[name] and raw[name].startswith("gAAAAA")
    again = Channel.objects.get(pk=channel.pk)
    assert {name: getattr(again, name) for name in SECRETS} == SECRETS
    assert list(Channel.objects.filter(pk=channel.pk).values_list("app_secret", flat=True)) == ["app-secret-456"]


def test_an_empty_secret_stays_empty_meaning_not_set(merchant):
    channel = ChannelFactory(merchant=merchant, access_token="", app_secret="", verify_token="")
    assert _raw(channel) == {"access_token": "", "app_secret": "", "verify_token": ""}
    assert Channel.objects.get(pk=channel.pk).access_token == ""


def test_rotation_re_encrypts_with_the_first_key_and_the_old_key_can_go(merchant, settings):
    old, new = settings.CHARLA_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()
    channel = ChannelFactory(merchant=merchant, **SECRETS)
    before = _raw(channel)
    settings.CHARLA_ENCRYPTION_KEYS = [new, old]
    assert Channel.objects.get(pk=channel.pk).access_token == SECRETS["access_token"]  # old ciphertext still opens
    output = io.StringIO()
    call_command("rotate_secrets", stdout=output)
    assert output.getvalue() == "Re-encrypted 3 secrets with the first key.\n"
    after = _raw(channel)
    assert all(after[name] != before[name] for name in SECRETS)
    settings.CHARLA_ENCRYPTION_KEYS = [new]
    assert {name: getattr(Channel.objects.get(pk=channel.pk), name) for name in SECRETS} == SECRETS
    settings.CHARLA_ENCRYPTION_KEYS = [old]
    with pytest.raises(SecretDecryptionError, match="cannot be decrypted with any key in CHARLA_ENCRYPTION_KEYS"):
        Channel.objects.get(pk=channel.pk)


def test_a_wrong_key_is_a_clear_error_and_rotation_changes_nothing(merchant, settings):
    channel = ChannelFactory(merchant=merchant, **SECRETS)
    before = _raw(channel)
    settings.CHARLA_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(SecretDecryptionError) as caught:
        Channel.objects.get(pk=channel.pk)
    assert "the key that encrypted it is missing" in str(caught.value)
    with pytest.raises(SecretDecryptionError):
        call_command("rotate_secrets")
    assert _raw(channel) == before


def test_the_migration_encrypts_the_plaintext_already_stored(merchant):
    channel = ChannelFactory(merchant=merchant, **SECRETS)
    with connection.cursor() as cursor:  # as the rows were before the migration
        cursor.execute(
            "UPDATE conversations_channel SET access_token = %s, app_secret = %s, verify_token = %s WHERE id = %s",
            [*SECRETS.values(), channel.pk],
        )
    migration = importlib.import_module("apps.conversations.migrations.0004_channel_secrets_encrypted")
    migration.encrypt_existing(apps, SimpleNamespace(connection=connection))
    raw = _raw(channel)
    assert all(plain not in raw[name] for name, plain in SECRETS.items())
    assert {name: getattr(Channel.objects.get(pk=channel.pk), name) for name in SECRETS} == SECRETS
    migration.decrypt_existing(apps, SimpleNamespace(connection=connection))
    assert _raw(channel) == SECRETS
