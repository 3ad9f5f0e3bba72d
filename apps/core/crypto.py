"""Secrets at rest (channel access tokens, app secrets, verify tokens): Fernet, keys from the environment.

`CHARLA_ENCRYPTION_KEYS` is a comma-separated list of Fernet keys: the first encrypts, every one
decrypts (`MultiFernet`), so a key is rotated by putting a new one first, running
`manage.py rotate_secrets` (re-encrypts every stored secret with it) and then dropping the old one.
"""

from __future__ import annotations

from collections.abc import Iterator

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.db import models


class SecretDecryptionError(Exception):
    """A stored secret that none of the configured keys opens (a wrong or dropped key)."""


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.CHARLA_ENCRYPTION_KEYS])


def secret_encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeEncodeError):
        raise SecretDecryptionError(
            "A stored secret cannot be decrypted with any key in CHARLA_ENCRYPTION_KEYS: the key that "
            "encrypted it is missing (add it back after the new key, then run `manage.py rotate_secrets`)."
        ) from None


def secret_rotate(token: str) -> str:
    """The same secret encrypted with the first key (any configured key may have encrypted it)."""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError):
        raise SecretDecryptionError(
            "A stored secret cannot be decrypted with any key in CHARLA_ENCRYPTION_KEYS."
        ) from None


class EncryptedTextField(models.TextField):
    """Text kept encrypted in its column and plain in Python. An empty value stays empty (= not set).

    Encryption is randomised, so the column cannot be filtered on: look rows up by another field.
    """

    def from_db_value(self, value, expression, connection):
        return secret_decrypt(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return secret_encrypt(value) if value else value


def encrypted_columns() -> Iterator[tuple[type[models.Model], str]]:
    """(model, column) for every encrypted field of every installed model."""
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field.column
