"""API keys get scopes; every key made before could do everything, so each keeps `admin`."""

from django.db import migrations, models


def existing_keys_admin(apps, schema_editor) -> None:
    apps.get_model("merchants", "ApiKey").objects.update(scopes=["admin"])


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0002_nullable_actors"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="scopes",
            field=models.JSONField(default=list),
        ),
        migrations.RunPython(existing_keys_admin, migrations.RunPython.noop),
    ]
