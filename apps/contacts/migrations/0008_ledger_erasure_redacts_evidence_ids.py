import importlib

from django.db import migrations

# Erasure's redaction may also rewrite the evidence message id: ids such as
# "user_preferences:<wa_id>:<ts>:stop" carry the person's number, which erasure replaces by its
# suppression token (docs/architecture.md, DR-9). Still only on erased contacts, and only
# when every other column (action, source, wording, times) is unchanged.
APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION contacts_consentevent_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.ip_address IS NULL AND NEW.user_agent = '' AND NEW.evidence_url = ''
       AND (to_jsonb(NEW) - 'ip_address' - 'user_agent' - 'evidence_url' - 'evidence_message_id')
           = (to_jsonb(OLD) - 'ip_address' - 'user_agent' - 'evidence_url' - 'evidence_message_id')
       AND EXISTS (SELECT 1 FROM contacts_contact c WHERE c.id = NEW.contact_id AND c.erased_at IS NOT NULL)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'contacts_consentevent is append-only (% refused)', TG_OP USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""


def allow_evidence_redaction(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL, params=None)


def restore_previous(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        previous = importlib.import_module("apps.contacts.migrations.0003_keywords_attributes_append_only")
        schema_editor.execute(previous.APPEND_ONLY_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0007_identity_whatsapp_user"),
    ]

    operations = [
        migrations.RunPython(allow_evidence_redaction, restore_previous),
    ]
