from django.db import DatabaseError, migrations, transaction

# Name search (icontains -> UPPER(name) LIKE '%…%') scans every contact without this index; with
# it a search stays fast at millions of contacts. pg_trgm is a trusted extension (PostgreSQL 13+),
# but where the role may not create it the index is skipped and search falls back to a scan.


def create_trigram(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm", params=None)
    except DatabaseError:
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS contact_name_trgm ON contacts_contact USING gin ((UPPER(name::text)) gin_trgm_ops)",
        params=None,
    )


def drop_trigram(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS contact_name_trgm", params=None)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0005_consent_event_recorded_index")]
    operations = [migrations.RunPython(create_trigram, drop_trigram)]
