"""Writes owned by core."""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models.functions import Now

from apps.core.crypto import encrypted_columns, secret_rotate
from apps.core.models import SchedulerHeartbeat


def scheduler_heartbeat_record() -> None:
    """Stamp the heartbeat with the database's clock, so web processes on other machines compare like with like."""
    SchedulerHeartbeat.objects.update_or_create(pk=SchedulerHeartbeat.SINGLETON, defaults={"ticked_at": Now()})


@transaction.atomic
def secrets_rotate() -> int:
    """Re-encrypt every stored secret with the first key; how many were rewritten.

    Works on the ciphertext (never the ORM's decrypted value), so each secret keeps its timestamp and
    a secret no key opens stops the whole rotation (SecretDecryptionError) with nothing changed.
    """
    count = 0
    with connection.cursor() as cursor:
        for model, column in encrypted_columns():
            table, col, pk = (
                connection.ops.quote_name(n) for n in (model._meta.db_table, column, model._meta.pk.column)
            )
            cursor.execute(f"SELECT {pk}, {col} FROM {table} WHERE {col} <> ''")  # noqa: S608 - our own names
            for row_id, token in cursor.fetchall():
                cursor.execute(f"UPDATE {table} SET {col} = %s WHERE {pk} = %s", [secret_rotate(token), row_id])  # noqa: S608
                count += 1
    return count
