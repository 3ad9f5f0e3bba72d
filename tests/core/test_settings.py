"""Settings are read once per process, so each case runs in a fresh interpreter with a clean environment."""

import ast
import base64
import os
import stat
import subprocess
import sys

import pytest
from django.conf import settings

PRODUCTION_KEY = "a-production-secret-" + "x" * 50
ENCRYPTION_KEY = "cHJvZHVjdGlvbi1lbmNyeXB0aW9uLWtleS0wMTIzNDU="


@pytest.fixture
def clean_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "CHARLA_"))}
    # Without DATABASE_URL the settings create the embedded var/ folder: keep it out of the checkout.
    return {
        **env, "DJANGO_SETTINGS_MODULE": "portal.settings", "CHARLA_VAR_DIR": str(tmp_path / "var"),
        "CHARLA_ENCRYPTION_KEYS": ENCRYPTION_KEY,
    }  # fmt: skip


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, cwd=settings.BASE_DIR, env=env, timeout=120)


def _manage(clean_env, *args: str, **env: str) -> subprocess.CompletedProcess:
    return _run([sys.executable, "manage.py", *args], {**clean_env, **env})


def _python(clean_env, code: str, **env: str) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter: settings are read from the environment without loading the apps."""
    return _run([sys.executable, "-c", code], {**clean_env, **env})


def _settings_values(clean_env, *names: str, **env: str) -> list[str]:
    """The settings, one line each, read in one interpreter: each boot costs about two seconds.

    Reading settings imports the settings module only; `django.setup()` (loading every app, ~1.4 s
    CPU) would add nothing the settings depend on.
    """
    shown = "; ".join(f"print(settings.{name})" for name in names)
    code = f"from django.conf import settings; {shown}"
    result = _python(clean_env, code, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-len(names) :]


def test_check_deploy_is_clean_with_production_variables(clean_env):
    result = _manage(
        clean_env,
        "check",
        "--deploy",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=PRODUCTION_KEY,
        DJANGO_ALLOWED_HOSTS="charla.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr


def test_check_deploy_is_clean_with_only_the_two_keys_set(clean_env):
    result = _manage(clean_env, "check", "--deploy", DJANGO_SECRET_KEY=PRODUCTION_KEY)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr


def test_debug_is_off_when_the_variable_is_forgotten(clean_env):
    debug, secure_cookie = _settings_values(
        clean_env, "DEBUG", "SESSION_COOKIE_SECURE", DJANGO_SECRET_KEY=PRODUCTION_KEY
    )
    assert debug == "False"
    assert secure_cookie == "True"


def test_debug_is_on_only_when_asked_for(clean_env):
    assert _settings_values(clean_env, "DEBUG", DJANGO_SECRET_KEY=PRODUCTION_KEY, DJANGO_DEBUG="true") == ["True"]


@pytest.mark.parametrize("debug", [None, "false", "true"])
def test_no_secret_key_refuses_to_start_instead_of_using_a_public_one(clean_env, debug):
    env = {"DJANGO_ALLOWED_HOSTS": "charla.example.com"} | ({"DJANGO_DEBUG": debug} if debug else {})
    result = _manage(clean_env, "check", **env)
    assert result.returncode == 1
    assert "django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY is not set." in result.stderr


SHOW_KEYS = "from django.conf import settings; print(','.join(settings.CHARLA_ENCRYPTION_KEYS))"


def test_without_encryption_keys_stored_secrets_use_a_key_derived_from_the_secret_key(clean_env):
    """The contract's operators set DJANGO_SECRET_KEY only: their secrets are still encrypted, never plain."""
    from apps.core.keys import secret_key_fernet_key

    no_keys = {k: v for k, v in clean_env.items() if k != "CHARLA_ENCRYPTION_KEYS"}
    result = _python(no_keys, SHOW_KEYS, DJANGO_SECRET_KEY=PRODUCTION_KEY)
    other = _python(no_keys, SHOW_KEYS, DJANGO_SECRET_KEY=PRODUCTION_KEY + "-other")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == secret_key_fernet_key(PRODUCTION_KEY)
    assert other.stdout.splitlines()[-1] != result.stdout.splitlines()[-1]
    assert PRODUCTION_KEY not in result.stdout


def test_explicit_encryption_keys_encrypt_and_the_derived_one_still_decrypts(clean_env):
    from apps.core.keys import secret_key_fernet_key

    result = _python(clean_env, SHOW_KEYS, DJANGO_SECRET_KEY=PRODUCTION_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split(",") == [ENCRYPTION_KEY, secret_key_fernet_key(PRODUCTION_KEY)]


def test_an_encryption_key_that_is_not_a_fernet_key_refuses_to_start(clean_env):
    result = _manage(
        clean_env, "check", DJANGO_SECRET_KEY=PRODUCTION_KEY, CHARLA_ENCRYPTION_KEYS=f"{ENCRYPTION_KEY},short"
    )
    assert result.returncode == 1
    assert "CHARLA_ENCRYPTION_KEYS holds a value that is not a Fernet key" in result.stderr


def test_embedded_environment_makes_one_private_encryption_key_and_reuses_it(clean_env, tmp_path):
    clean_env = {k: v for k, v in clean_env.items() if k != "CHARLA_ENCRYPTION_KEYS"}
    key_file = tmp_path / "var" / "encryption_key"
    show_key = [sys.executable, "scripts/embedded_env.py", sys.executable, "-c"]
    code = "from django.conf import settings; print(settings.CHARLA_ENCRYPTION_KEYS)"
    first = _run([*show_key, code], clean_env)
    second = _run([*show_key, code], clean_env)
    assert first.returncode == 0, first.stderr
    key = key_file.read_text().strip()
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.stdout.splitlines()[-1] == second.stdout.splitlines()[-1]
    assert ast.literal_eval(first.stdout.splitlines()[-1])[0] == key  # the kept key encrypts


def test_embedded_environment_makes_one_private_key_and_reuses_it(clean_env, tmp_path):
    key_file = tmp_path / "var" / "secret_key"
    show_key = [sys.executable, "scripts/embedded_env.py", sys.executable, "-c"]
    code = "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"

    first = _run([*show_key, code], clean_env)
    second = _run([*show_key, code], clean_env)

    assert first.returncode == 0, first.stderr
    key = key_file.read_text().strip()
    assert len(key) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.stdout.splitlines()[-1] == f"True {key}"
    assert second.stdout.splitlines()[-1] == f"True {key}"


def test_embedded_environment_keeps_an_explicit_secret_key(clean_env, tmp_path):
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    env = {**clean_env, "DJANGO_SECRET_KEY": PRODUCTION_KEY}
    result = _run([sys.executable, "scripts/embedded_env.py", sys.executable, "-c", code], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == PRODUCTION_KEY
    assert not (tmp_path / "var" / "secret_key").exists()


PG = "postgres://charla@db.internal:6432/charla"


def test_behind_pgbouncer_no_server_side_cursors_no_prepared_statements_no_own_pool(clean_env):
    shown = [f'DATABASES["default"]["{k}"]' for k in ("DISABLE_SERVER_SIDE_CURSORS", "CONN_MAX_AGE", "OPTIONS")]
    env = {"DATABASE_URL": PG, "CHARLA_PGBOUNCER": "true", "DJANGO_SECRET_KEY": PRODUCTION_KEY}
    values = _settings_values(clean_env, *shown, **env)
    assert values == ["True", "0", "{'prepare_threshold': None}"]


def test_without_pgbouncer_the_process_keeps_its_pool_and_server_side_cursors(clean_env):
    shown = 'DATABASES["default"].get("DISABLE_SERVER_SIDE_CURSORS", False)', 'DATABASES["default"]["OPTIONS"].keys()'
    values = _settings_values(clean_env, *shown, DATABASE_URL=PG, DJANGO_SECRET_KEY=PRODUCTION_KEY)
    assert values == ["False", "dict_keys(['pool'])"]


def test_the_broker_is_redis_unless_celery_broker_url_names_another(clean_env):
    env = {"REDIS_URL": "redis://cache.internal:6379/0", "DJANGO_SECRET_KEY": PRODUCTION_KEY}
    assert _settings_values(clean_env, "CELERY_BROKER_URL", **env) == [env["REDIS_URL"]]
    rabbit = "amqp://charla:secret@mq.internal:5672/charla"
    assert _settings_values(clean_env, "CELERY_BROKER_URL", **env, CELERY_BROKER_URL=rabbit) == [rabbit]
