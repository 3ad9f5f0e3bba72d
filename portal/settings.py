"""Charla settings: one module, everything from the environment.

Only DJANGO_SECRET_KEY is required, and DEBUG is off unless DJANGO_DEBUG=true (`make run` sets both,
and keys of its own for stored secrets).
With DATABASE_URL / REDIS_URL unset the portal runs embedded (SQLite, in-memory channel layer,
filesystem broker); set, they switch to PostgreSQL and Redis. See .env.example.
"""

import os
from pathlib import Path

import environ
from celery.schedules import crontab
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from apps.campaigns import beat as campaigns_beat
from apps.conversations import beat as conversations_beat
from apps.core.keys import secret_key_fernet_key
from apps.tickets import beat as tickets_beat

BASE_DIR = Path(__file__).resolve().parent.parent
_OWN_PREFIXES = ("DJANGO_", "DATABASE_", "REDIS_", "CHARLA_", "CELERY_", "EMAIL_", "META_", "API_", "CHANNELS_", "LOG_")
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
# An empty variable (as copied from .env.example) means "use the default", not "the empty string".
for _name, _value in list(os.environ.items()):
    if _value == "" and _name.startswith(_OWN_PREFIXES):
        del os.environ[_name]
VAR_DIR = Path(env.str("CHARLA_VAR_DIR", default=str(BASE_DIR / "var")))

# --------------------------------------------------------------------------- core
# Production unless told otherwise: a deploy that forgets a variable must not serve debug pages.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Signs sessions, widget visitor tokens, file links and consent confirmations: never a public default.
# `make run` passes a random key it keeps in var/secret_key (scripts/embedded_env.py).
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. In production set it to a long random value; "
        "for development use `make run`, which keeps a generated key in var/secret_key."
    )
# Encrypts channel access tokens and app secrets at rest (apps/core/crypto.py): Fernet keys, the first
# encrypts and every one decrypts, so keys rotate. The contract's operators set only DJANGO_SECRET_KEY, so
# without CHARLA_ENCRYPTION_KEYS the key is derived from it; that derived key is always kept last for
# decryption, which lets a deploy move to keys of its own with `rotate_secrets` (README, Security).
CHARLA_ENCRYPTION_KEYS = env.list("CHARLA_ENCRYPTION_KEYS", default=[])
try:
    [Fernet(key) for key in CHARLA_ENCRYPTION_KEYS]
except ValueError:
    raise ImproperlyConfigured(
        "CHARLA_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64-encoded bytes): "
        "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
    ) from None
CHARLA_ENCRYPTION_KEYS = [*CHARLA_ENCRYPTION_KEYS, secret_key_fernet_key(SECRET_KEY)]
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
PUBLIC_BASE_URL = env.str("CHARLA_PUBLIC_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "apps.core.apps.CharlaAdminConfig",  # django.contrib.admin with the merchant-scoped site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "channels",
    "apps.core",
    "apps.accounts",
    "apps.merchants",
    "apps.contacts",
    "apps.conversations",
    "apps.tickets",
    "apps.campaigns",
    "apps.reports",
    "apps.sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.EdgeInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "apps.core.middleware.CurrentMerchantMiddleware",
    "apps.core.middleware.MemberTimezoneMiddleware",
    "apps.core.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "portal.urls"
ASGI_APPLICATION = "portal.asgi.application"
WSGI_APPLICATION = "portal.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.portal",
            ],
        },
    },
]

# --------------------------------------------------------------------------- database
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        if env.bool("DATABASE_POOL", default=True):
            # psycopg 3's pool; Django requires persistent connections to be off with it.
            DATABASES["default"]["CONN_MAX_AGE"] = 0
            DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
                "min_size": env.int("DATABASE_POOL_MIN", default=1),
                "max_size": env.int("DATABASE_POOL_MAX", default=10),
                "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
            }
        else:
            DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
            DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
        if env.bool("CHARLA_PGBOUNCER", default=False):
            # PgBouncer in transaction pooling hands each transaction any server connection: a cursor
            # or a prepared statement left on one is not there for the next query, and PgBouncer pools,
            # so the process keeps none of its own.
            DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
            DATABASES["default"]["CONN_MAX_AGE"] = 0
            DATABASES["default"].pop("CONN_HEALTH_CHECKS", None)
            options = DATABASES["default"].setdefault("OPTIONS", {})
            options.pop("pool", None)
            options["prepare_threshold"] = None
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "charla.sqlite3",
            # The web server, worker and beat share this file: wait for locks instead of failing.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# --------------------------------------------------------------------------- redis, cache, channels, celery
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"pool_class": "apps.core.redis_pool.SharedConnectionPool"},  # one pool per process
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env.str("CHANNELS_PREFIX", default="charla")},
        }
    }
    # Large deployments may put the broker on RabbitMQ (amqp://…) and keep Redis for the rest.
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "charla"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    BROKER_DIR = VAR_DIR / "broker"
    for sub in ("out", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(BROKER_DIR / "control"),
    }

CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# Beat's own state (last run of each entry). The scheduler creates the folder, so a bare checkout boots.
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celerybeat-schedule"))
CELERY_BEAT_SCHEDULER = "portal.celery:BeatScheduler"
# Beat enqueues a heartbeat that a worker records; /readyz fails when none was recorded this recently.
SCHEDULER_HEARTBEAT_SECONDS = env.float("CHARLA_SCHEDULER_HEARTBEAT_SECONDS", default=20.0)
SCHEDULER_STALE_SECONDS = env.float("CHARLA_SCHEDULER_STALE_SECONDS", default=3 * SCHEDULER_HEARTBEAT_SECONDS)
CELERY_BEAT_SCHEDULE: dict = {
    "core-scheduler-heartbeat": {
        "task": "apps.core.tasks.scheduler_heartbeat",
        "schedule": SCHEDULER_HEARTBEAT_SECONDS,
        # A heartbeat that waited longer than the staleness window proves nothing: drop it.
        "options": {"expires": SCHEDULER_STALE_SECONDS},
    },
    "merchants-purge-expired-invitations": {
        "task": "apps.merchants.tasks.invitations_purge_expired",
        "schedule": crontab(minute=7),
    },
}
# The apps with periodic tasks declare them in apps/<app>/beat.py as a plain BEAT_SCHEDULE dict (no Django imports).
CELERY_BEAT_SCHEDULE.update(campaigns_beat.BEAT_SCHEDULE)
CELERY_BEAT_SCHEDULE.update(conversations_beat.BEAT_SCHEDULE)
CELERY_BEAT_SCHEDULE.update(tickets_beat.BEAT_SCHEDULE)

# A portal socket re-checks its member's access on every change a service makes, and at least this often
# (changes made outside the services, e.g. in the Django admin); see apps/core/sockets.py.
ACCESS_RECHECK_SECONDS = 60.0

# --------------------------------------------------------------------------- auth & security
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Windows of apps/core/ratelimit.py ("count/[n]unit", unit s, min, h, d): the widget's endpoints and socket
# per visitor, client IP and merchant; failed sign-ins per account and IP and per IP (a full bucket locks
# sign-in until its window ends or an admin unlocks); password-reset requests per IP and per e-mail.
CHARLA_RATE_LIMITS = {
    "widget.prechat.visitor": "5/min",
    "widget.prechat.ip": "20/min",
    "widget.prechat.merchant": "300/min",
    "widget.message.visitor": "60/min",
    "widget.message.ip": "300/min",
    "widget.message.merchant": "6000/min",
    "widget.upload.visitor": "10/min",
    "widget.upload.ip": "30/min",
    "widget.upload.merchant": "600/min",
    "signin.account_ip": "5/15min",
    "signin.ip": "20/15min",
    "password_reset.ip": "5/h",
    "password_reset.email": "3/h",
}
CHARLA_RATE_LIMITS.update(env.dict("CHARLA_RATE_LIMITS", default={}))
CHARLA_RATE_LIMIT_PREFIX = "charla:rl"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --------------------------------------------------------------------------- i18n, static, media
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Chart.js (npm, `make install`) is served as /static/vendor/chart.js/chart.umd.min.js.
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist")]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("CHARLA_MEDIA_ROOT", default=str(VAR_DIR / "media")))
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Form fields beside files, and `request.body` reads; files are limited per view (apps/core/body_limits.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The largest JSON document any edge parses (API bodies, widget calls, socket frames, Meta's webhooks).
INPUT_JSON_MAX_BYTES = env.int("INPUT_JSON_MAX_BYTES", default=2 * 1024 * 1024)

# --------------------------------------------------------------------------- e-mail
EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="Charla <no-reply@charla.localhost>")

# --------------------------------------------------------------------------- API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.core.api.authentication.ApiKeyAuthentication",
        "apps.core.api.authentication.PortalSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "apps.core.api.permissions.IsMerchantMember",
        "apps.core.api.permissions.ApiKeyHasScope",
    ],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["apps.core.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": env.str("API_RATE_PER_KEY", default="1200/min")},
    "EXCEPTION_HANDLER": "apps.core.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Charla API",
    "DESCRIPTION": "Business messaging: contacts and consent, conversations, tickets and campaigns.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Several models share field names (status, kind, priority) with different choice sets.
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "apps.core.roles.Role",
        "ConsentChannelEnum": "apps.contacts.models.ConsentChannel",
        "PurposeEnum": "apps.contacts.models.Purpose",  # also a template's category
        "ConsentActionEnum": "apps.contacts.models.ConsentAction",
        "ConsentSourceEnum": "apps.contacts.models.ConsentSource",
        "ConsentStatusEnum": "apps.contacts.models.ConsentStatus",
        "ChannelKindEnum": "apps.conversations.models.ChannelKind",
        "ConversationStatusEnum": "apps.conversations.models.ConversationStatus",
        "ConversationPriorityEnum": "apps.conversations.models.ConversationPriority",
        "MessageKindEnum": "apps.conversations.models.MessageKind",
        "MessageStatusEnum": "apps.conversations.models.MessageStatus",
        "MessageDirectionEnum": "apps.conversations.models.MessageDirection",
        "TicketStatusEnum": "apps.tickets.models.TicketStatus",
        "TicketPriorityEnum": "apps.tickets.models.TicketPriority",
        "TicketEventKindEnum": "apps.tickets.models.TicketEventKind",
        "TemplateStatusEnum": "apps.campaigns.models.TemplateStatus",
        "CampaignStatusEnum": "apps.campaigns.models.CampaignStatus",
        "DeliveryStateEnum": "apps.campaigns.models.DeliveryState",
    },
    "SERVE_AUTHENTICATION": [],
    # Request bodies get their own components: read-only fields out, write-only secrets in, truthful `required`.
    "COMPONENT_SPLIT_REQUEST": True,
}

# --------------------------------------------------------------------------- providers
META_GRAPH_API_URL = env.str("META_GRAPH_API_URL", default="https://graph.facebook.com/v21.0").rstrip("/")
# The sandbox (apps/sandbox): a fake Graph API inside the web process and a phone page to be the customer.
# On by default only under DEBUG (`make run`); a production deploy gets it only by saying CHARLA_SANDBOX=true.
# Only channels flagged `settings["sandbox"] = True` are ever sent there (conversations.providers.graph_base_url).
CHARLA_SANDBOX = env.bool("CHARLA_SANDBOX", default=DEBUG)
CHARLA_SANDBOX_BASE_URL = env.str(
    "CHARLA_SANDBOX_BASE_URL", default=f"http://127.0.0.1:{env.str('PORT', default='8000')}"
).rstrip("/")
CHARLA_SANDBOX_GRAPH_URL = f"{CHARLA_SANDBOX_BASE_URL}/sandbox/graph/v21.0"
CHARLA_SANDBOX_STATUS_DELAY = 1.5  # seconds between the sandbox's sent, delivered and read webhooks
# One inbox send: attempts on a transient Graph failure, and the first pause between them (doubling).
CONVERSATIONS_SEND_ATTEMPTS = 3
CONVERSATIONS_SEND_BACKOFF = 0.5
# The contacts CSV export reads this many contacts a query (apps/contacts/services/contact_csv.py).
CONTACTS_EXPORT_CHUNK = 2000

# --------------------------------------------------------------------------- outbound requests to URLs from outside
# apps/core/outbound_http.py: https only, public addresses only; true allows http and private addresses (local fakes).
CHARLA_OUTBOUND_ALLOW_PRIVATE = env.bool("CHARLA_OUTBOUND_ALLOW_PRIVATE", default=False)
CHARLA_OUTBOUND_MAX_BYTES = env.int("CHARLA_OUTBOUND_MAX_BYTES", default=100 * 1024 * 1024)  # WhatsApp's largest
CHARLA_OUTBOUND_TIMEOUT = env.float("CHARLA_OUTBOUND_TIMEOUT", default=60.0)  # seconds for a whole fetch

# --------------------------------------------------------------------------- logging
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"forbidden_one_line": {"()": "apps.core.request_log.ForbiddenOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's default config gives "django" its own console handler besides ours on the root: every
        # record was printed twice under DEBUG. It keeps no handler of its own and reaches the root once.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.request": {"filters": ["forbidden_one_line"]},
        "django.db.backends": {"level": "WARNING"},
    },
}
