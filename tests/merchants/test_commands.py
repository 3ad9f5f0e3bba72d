import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.merchants.models import ApiKey, Merchant
from apps.merchants.services import api_key_authenticate

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("create_merchant", *args, stdout=out)
    return out.getvalue()


def test_prints_the_contract_json():
    output = run(
        "cafe", "--name", "Café Sol", "--admin-email", "boss@cafe.test", "--password", "Sunny-days-2026", "--json"
    )
    result = json.loads(output.strip().splitlines()[-1])
    merchant = Merchant.objects.get(slug="cafe")
    assert result["merchant"]["id"] == merchant.pk
    assert result["merchant"]["slug"] == "cafe"
    assert result["admin"] == {"email": "boss@cafe.test"}
    assert api_key_authenticate(result["api_key"]).merchant == merchant


def test_taken_slug_exits_1_and_creates_nothing(merchant):
    keys_before = ApiKey.objects.count()
    with pytest.raises(CommandError) as exc:
        run(merchant.slug, "--name", "Again", "--admin-email", "x@y.test", "--json")
    assert exc.value.returncode == 1
    assert "slug" in str(exc.value)
    assert Merchant.objects.count() == 1
    assert ApiKey.objects.count() == keys_before


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["bad slug", "--name", "X", "--admin-email", "a@b.test"], "slug"),
        (["good", "--name", "X", "--admin-email", "not-mail"], "email"),
        (["good", "--name", "X", "--admin-email", "a@b.test", "--timezone", "Moon/Base"], "timezone"),
    ],
)
def test_bad_input_is_a_clear_error(args, field):
    with pytest.raises(CommandError) as exc:
        run(*args, "--json")
    assert field in str(exc.value)
    assert not Merchant.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_command_exits_1_from_the_shell(merchant):
    import os
    import subprocess
    import sys

    from django.conf import settings

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    db = settings.DATABASES["default"]
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    result = subprocess.run(
        [sys.executable, "manage.py", "create_merchant", "acme", "--name", "X", "--admin-email", "a@b.test", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode == 1
    assert "slug" in result.stderr
