"""Weir settings. Every knob is an environment variable read through `config.env` (see README)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

from apps.core.logformat import logging_config
from config.env import data_dir, env_bool, env_float, env_int, env_list, env_path, env_str
from config.secretkey import DEFAULT_SECRET_KEY

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = data_dir()

DEBUG = env_bool("WEIR_DEBUG", False)
# The embedded default lets tests and commands run with no configuration at all; `weir server
# web` refuses it outside debug mode, and `weir standalone` makes and keeps a key of its own
# (config/secretkey.py).
SECRET_KEY = env_str("WEIR_SECRET_KEY", DEFAULT_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.core",
    "apps.accounts",
    "apps.namespaces",
    "apps.plugins",
    "apps.flows",
    "apps.executions",
    "apps.files",
    "apps.triggers",
    "apps.secrets",
    "apps.audit",
    "apps.ui",
    "channels",
    "apps.live",
    "axes",
    "conformance_runner",  # test tooling (`manage.py conformance`); depends on the apps, never the reverse
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "apps.core.unavailable.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "apps.core.api.kestra1.Kestra1Middleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "apps.audit.context.CurrentRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "apps.ui.context.frontend",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'weir.sqlite3'}"),
        conn_max_age=env_int("WEIR_DB_CONN_MAX_AGE", 60),
    )
}
# A connection kept across requests is checked before its first use in each request (one round
# trip), so the requests that follow a database restart do not fail on a dead socket
# (docs/adr/0013). Workers keep theirs across tasks and reconnect when an outage error says so.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("WEIR_DB_PREPARED_STATEMENTS", True):
    # Django turns psycopg's prepared statements off (`prepare_threshold` None), and with them the
    # `prepare=True` of the decision's few fixed statements (apps/executions/runtime/snapshots.py,
    # runrows.py), which were then parsed and planned on every decision (about 0.9 ms of
    # PostgreSQL's time each). A threshold no query reaches keeps every other query unprepared.
    # Set WEIR_DB_PREPARED_STATEMENTS=0 behind a PgBouncer in transaction mode older than 1.21.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 2**31 - 1
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets the web process read while a worker thread writes (standalone mode).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "ui:flows"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): a username, or an IP address, with WEIR_LOGIN_FAILURE_LIMIT
# failed logins in a row is locked out for WEIR_LOGIN_COOLOFF_MINUTES (a 429 page); a success
# resets the count. Every attempt is audited (apps/audit/logins.py).
AUTHENTICATION_BACKENDS = [
    "apps.accounts.backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("WEIR_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("WEIR_LOGIN_COOLOFF_MINUTES", 15.0))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.accounts.lockout.locked_out"
AXES_VERBOSE = False
# The client's address is REMOTE_ADDR: behind a proxy, uvicorn (`proxy_headers`) has already put
# X-Forwarded-For's client there for the proxies it trusts (FORWARDED_ALLOW_IPS).

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
# WhiteNoise warns on every start when this is missing; files come from the finders until
# `collectstatic` fills it.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(env_path("WEIR_STORAGE_DIR", DATA_DIR / "storage"))}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Outgoing mail (MailSend without `host` uses these): Django's EMAIL_* settings, from the environment.
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "weir@localhost")

REDIS_URL = env_str("REDIS_URL", "")
# Live views (apps/live): Redis carries notifications between processes; without it, the
# in-memory layer serves one process (standalone), where the worker runs in-process too.
CHANNEL_LAYERS = {
    "default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "capacity": 500, "expiry": 30}}
    if REDIS_URL else {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 500}},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.BearerTokenAuthentication",
        "apps.accounts.authentication.BasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["apps.secrets.renderers.MaskingJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "apps.core.api.parsers.YamlSourceParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "apps.core.api.errors.exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "apps.core.api.negotiation.LenientContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Weir API",
    "DESCRIPTION": "Flows, executions and plugins of Weir, with Kestra's paths and shapes.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the drf-spectacular-sidecar package's static files: /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Secrets at rest (apps/secrets/README.md): Fernet keys, comma-separated; the first encrypts, all
# decrypt. Empty: one key derived from SECRET_KEY (fine on a laptop; set it in production, then
# rotate with `manage.py rotate_secrets`).
WEIR_SECRET_KEYS = env_list("WEIR_SECRET_KEYS", [])

# Limits on flow sources (RELIABILITY.md §4): checked before any parsing.
WEIR_MAX_SOURCE_BYTES = env_int("WEIR_MAX_SOURCE_BYTES", 1024 * 1024)
WEIR_MAX_IMPORT_BYTES = env_int("WEIR_MAX_IMPORT_BYTES", 50 * 1024 * 1024)
# A flow may hold at most this many tasks, counted at every nesting level (422 above); subflows
# may nest at most this deep at run time (the calling task fails above: recursion ends).
WEIR_MAX_TASKS = env_int("WEIR_MAX_TASKS", 2000)
WEIR_MAX_SUBFLOW_DEPTH = env_int("WEIR_MAX_SUBFLOW_DEPTH", 10)
# Longest an SSE follow stream stays open (apps/executions/api/views_follow.py); clients reconnect.
WEIR_FOLLOW_MAX_SECONDS = env_int("WEIR_FOLLOW_MAX_SECONDS", 3600)
DATA_UPLOAD_MAX_MEMORY_SIZE = WEIR_MAX_IMPORT_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Worker groups a task may name in `workerGroup.key` (DESIGN.md §1).
WEIR_WORKER_GROUPS = env_list("WEIR_WORKER_GROUPS", [])
# Engine timings (DESIGN.md §5): a worker renews its lease every third of WEIR_LEASE_SECONDS; the
# reaper re-dispatches a task run whose lease expired; the sweeper re-publishes task runs still
# CREATED WEIR_SWEEP_SECONDS after they were published.
WEIR_LEASE_SECONDS = env_float("WEIR_LEASE_SECONDS", 30.0)
WEIR_SWEEP_SECONDS = env_float("WEIR_SWEEP_SECONDS", 10.0)
# A task run lost by this many workers in a row (lease expired each time) FAILS instead of being
# re-dispatched again; a worker looks for kills of its running attempts every
# WEIR_CANCEL_POLL_SECONDS (docs/adr/0012).
WEIR_MAX_LEASE_EXPIRIES = env_int("WEIR_MAX_LEASE_EXPIRIES", 3)
WEIR_CANCEL_POLL_SECONDS = env_float("WEIR_CANCEL_POLL_SECONDS", 0.5)
# Readiness reports the scheduler down when its heartbeat is older than this (it beats every ~2 s).
WEIR_SCHEDULER_STALE_SECONDS = env_float("WEIR_SCHEDULER_STALE_SECONDS", 30.0)
# A schedule with recoverMissedSchedules: NONE still fires a slot at most this late (apps/triggers).
WEIR_SCHEDULE_GRACE_SECONDS = env_float("WEIR_SCHEDULE_GRACE_SECONDS", 60.0)
# `globals.*` in expressions (Kestra's kestra.variables.globals), as a JSON object.
WEIR_GLOBALS = json.loads(env_str("WEIR_GLOBALS", "{}") or "{}")

WEIR_FRONTEND_MANIFEST = BASE_DIR / "static" / "dist" / ".vite" / "manifest.json"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
# Production over HTTPS (README, "Production"): off in debug mode, where the server is a laptop's.
if env_bool("WEIR_HTTPS", False) and not DEBUG:
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("WEIR_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
if env_bool("WEIR_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy on every response (django-csp). Scripts only from this origin or with
# the response's nonce (`{{ request.csp_nonce }}` on the few inline scripts); inline *styles* are
# allowed because CodeMirror, React Flow and Swagger UI set them at run time.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# WEIR_LOG_FORMAT=json: one JSON object per line (apps/core/logformat.py). Every record is masked
# before a handler formats it, and error emails once more as built (apps/secrets/logmask.py,
# RELIABILITY.md §4 row 19).
LOGGING = logging_config(env_str("WEIR_LOG_FORMAT", "text").lower(), env_str("WEIR_LOG_LEVEL", "INFO"))

# Kestra's API has paths like /api/v1/flows and /api/v1/flows/search (no trailing slash), so the
# included URL patterns start with "/" by design.
SILENCED_SYSTEM_CHECKS = ["urls.W002"]
