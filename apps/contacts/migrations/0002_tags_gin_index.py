from django.db import migrations


def create_gin(apps, schema_editor):
    # PostgreSQL only: the embedded SQLite default filters tags without an index.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS contact_tags_gin ON contacts_contact USING gin (tags jsonb_path_ops)"
        )


def drop_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS contact_tags_gin")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial")]
    operations = [migrations.RunPython(create_gin, drop_gin)]
