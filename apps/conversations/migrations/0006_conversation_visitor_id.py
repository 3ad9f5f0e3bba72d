"""A web chat records the widget visitor that opened it (DR-66); existing web chats get their contact's visitor."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery


def visitor_id_backfill(apps, schema_editor) -> None:
    """Each web chat so far belongs to the one browser its contact has. A contact with several browsers (two
    visitors merged from the portal) cannot tell which opened which thread: those stay blank, seen by no widget."""
    Conversation = apps.get_model("conversations", "Conversation")
    ContactIdentity = apps.get_model("contacts", "ContactIdentity")
    browsers = ContactIdentity.objects.filter(kind="webchat")
    one_browser = browsers.values("contact_id").annotate(n=Count("id")).filter(n=1).values("contact_id")
    its_browser = browsers.filter(contact_id=OuterRef("contact_id")).values("external_id")[:1]
    Conversation.objects.filter(channel__kind="webchat", visitor_id="", contact_id__in=one_browser).update(
        visitor_id=Subquery(its_browser)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0008_ledger_erasure_redacts_evidence_ids"),
        ("conversations", "0005_live_event_topic"),
        ("merchants", "0003_api_key_scopes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # The data update comes last: PostgreSQL refuses to ALTER a table with rows updated in the same transaction
    # while deferred constraint triggers are pending.
    operations = [
        migrations.AddField(
            model_name="conversation",
            name="visitor_id",
            field=models.CharField(blank=True, default="", max_length=128),
        ),
        migrations.RemoveConstraint(
            model_name="conversation",
            name="conversation_one_unresolved",
        ),
        migrations.AddConstraint(
            model_name="conversation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "resolved"), _negated=True),
                fields=("channel", "contact", "visitor_id"),
                name="conversation_one_unresolved",
            ),
        ),
        migrations.RunPython(visitor_id_backfill, migrations.RunPython.noop),
    ]
