"""Channel secrets move to encrypted columns; the values already stored are encrypted in place."""

from django.db import migrations

import apps.core.crypto
from apps.core.crypto import secret_decrypt, secret_encrypt

SECRET_COLUMNS = ("access_token", "app_secret", "verify_token")


def _rewrite(schema_editor, Channel, transform) -> None:
    # Raw SQL on both sides: the historical model's field would decrypt on read and encrypt on write.
    connection = schema_editor.connection
    table, pk = connection.ops.quote_name(Channel._meta.db_table), connection.ops.quote_name("id")
    with connection.cursor() as cursor:
        for column in map(connection.ops.quote_name, SECRET_COLUMNS):
            cursor.execute(f"SELECT {pk}, {column} FROM {table} WHERE {column} <> ''")  # noqa: S608
            for row_id, value in cursor.fetchall():
                cursor.execute(f"UPDATE {table} SET {column} = %s WHERE {pk} = %s", [transform(value), row_id])  # noqa: S608


def encrypt_existing(apps, schema_editor) -> None:
    _rewrite(schema_editor, apps.get_model("conversations", "Channel"), secret_encrypt)


def decrypt_existing(apps, schema_editor) -> None:
    _rewrite(schema_editor, apps.get_model("conversations", "Channel"), secret_decrypt)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0003_attachment_generated_names"),
    ]

    operations = [
        migrations.AlterField(
            model_name="channel",
            name="access_token",
            field=apps.core.crypto.EncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name="channel",
            name="app_secret",
            field=apps.core.crypto.EncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name="channel",
            name="verify_token",
            field=apps.core.crypto.EncryptedTextField(blank=True),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing),
    ]
