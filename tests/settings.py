"""Test overlay: only what must differ from portal.settings."""

import os
from pathlib import Path

# pytest-xdist runs the suite in processes gw0, gw1, ...: each gets its own var/ folder (SQLite file,
# filesystem broker, media), cache keys and channel-layer prefix, so no worker sees another's state.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if XDIST_WORKER:
    os.environ.setdefault("CHARLA_VAR_DIR", str(Path(__file__).resolve().parents[1] / "var" / f"xdist-{XDIST_WORKER}"))

os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("CHARLA_ENCRYPTION_KEYS", "dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS0wMTIzNDU=")

from portal.settings import *  # noqa: E402, F403  (after the environment above is set)

DEBUG = False
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast: tests create many users
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
WHITENOISE_USE_FINDERS = True
# Every test client builds its own handler, and with autorefresh off WhiteNoise indexes every static file
# of every finder when its middleware starts: about 80 ms per client, minutes over the suite. With it on,
# a file is found when it is asked for.
WHITENOISE_AUTOREFRESH = True
MEDIA_ROOT = VAR_DIR / "test-media"  # noqa: F405
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"api_key": "100000/min"}  # noqa: F405
REST_FRAMEWORK["TEST_REQUEST_DEFAULT_FORMAT"] = "json"  # noqa: F405  (the API reads JSON bodies; uploads say multipart)
if not IS_POSTGRES:  # noqa: F405
    # Django's SQLite test database is in memory unless named, and then --reuse-db has nothing to
    # keep: every worker would run all migrations on every run. A file in the worker's var/ is kept.
    DATABASES["default"]["TEST"] = {"NAME": VAR_DIR / "test-charla.sqlite3"}  # noqa: F405
if IS_POSTGRES:  # noqa: F405
    # Each pytest-xdist worker gets its own test database; a pool per worker is not needed.
    DATABASES["default"].get("OPTIONS", {}).pop("pool", None)  # noqa: F405
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
if XDIST_WORKER:
    CACHES["default"]["KEY_PREFIX"] = XDIST_WORKER  # noqa: F405
    if "CONFIG" in CHANNEL_LAYERS["default"]:  # noqa: F405
        CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] += f"-{XDIST_WORKER}"  # noqa: F405
STATIC_ROOT = VAR_DIR / "test-static"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# The sandbox's routes answer only when it is on: on here so the tenancy sweep walks them (tests of the
# off switch turn it off). Only channels flagged settings.sandbox=True are routed to it.
CHARLA_SANDBOX = True
