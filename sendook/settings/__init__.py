"""The only settings (this module, with env.py and mail.py beside it). Everything comes from
environment variables (see .env.example).

The defaults run the whole product on one machine with nothing else installed: SQLite under
var/, Celery tasks executed in-process, outbound mail captured by the sandbox backend.
DATABASE_URL, CELERY_BROKER_URL, CACHE_URL/REDIS_URL and EMAIL_BACKEND switch to PostgreSQL,
Redis + Celery workers and Amazon SES.
"""

from pathlib import Path

import dj_database_url

from sendook.settings.env import BASE_DIR, VAR_DIR, env, env_bool, env_int, env_list

DEBUG = env_bool("DEBUG", False)
# The fallback is public (it is in this file): fine for `make run` (DEBUG) and the tests, but a
# web process with DEBUG off refuses to start on it (sendook/wsgi.py, sendook/asgi.py), since
# anyone could forge sessions and signed links with it.
SECRET_KEY = env("SECRET_KEY") or "django-insecure-local-development-key-change-me"
USING_FALLBACK_SECRET_KEY = not env("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SENDOOK_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here rather than a CDN
    "anymail",
    "sendook.events",
    "inboxes",
    "messages.apps.MailConfig",
    "messages.ui.apps.MailUiConfig",
    "webhooks",
]

# The kernel (sendook/) names the organization model here instead of importing it, the way
# AUTH_USER_MODEL names the user model.
SENDOOK_ORGANIZATION_MODEL = "inboxes.Organization"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves the UI's static files from gunicorn too (no separate web server needed).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it sees view exceptions first: JSON errors for /v1 and /webhooks plain views.
    "sendook.middleware.JsonErrorsMiddleware",
    # People's 405s: the styled page (templates/405.html); /v1 and /webhooks keep theirs.
    "sendook.middleware.MethodNotAllowedPageMiddleware",
]
# A form posted with an expired CSRF token: the styled page with a way back (JSON under /v1).
CSRF_FAILURE_VIEW = "sendook.views.csrf_failure"

ROOT_URLCONF = "sendook.urls"
WSGI_APPLICATION = "sendook.wsgi.application"
APPEND_SLASH = False

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
                # `is_owner`: the layout shows owner-only links to owners only.
                "messages.ui.views.roles.roles",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'sendook.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # SQLite serializes writers; a busy timeout makes concurrent requests wait, not fail.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, idempotency locks) -------------------------------------------------
CACHE_URL = env("CACHE_URL") or env("REDIS_URL")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "sendook.cache.RedisCache",  # Django's, reusing its Redis client
            "LOCATION": CACHE_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
RATELIMIT_USE_CACHE = "default"
# The local-memory cache is per process, which is what the one-process embedded default has.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

# --- Auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
AUTHENTICATION_BACKENDS = ["inboxes.auth.EmailBackend"]
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Serve straight from the apps' static folders, so no collectstatic step is needed.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {
        "BACKEND": env("SENDOOK_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Request bodies: DRF and Django refuse larger bodies with 413/400 before parsing them.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("SENDOOK_MAX_REQUEST_BYTES", 40 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SENDOOK_BEHIND_PROXY") else None
)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HTTPS-only deployments (all off by default: the embedded default serves plain http).
# The redirect spares /health so probes can speak http inside the network.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

# --- Login throttling and the client address (sendook/login_throttle.py) --------------------
# Failed logins on /login and /admin/login/ allowed per window, django-ratelimit syntax
# ("10/15m"): per account (the email tried, from any address) and per client address (every
# account tried from it). Past either, the form answers 429 until the window ends. Empty = off.
SENDOOK_LOGIN_RATE_PER_ACCOUNT = env("SENDOOK_LOGIN_RATE_PER_ACCOUNT", "10/15m")
SENDOOK_LOGIN_RATE_PER_ADDRESS = env("SENDOOK_LOGIN_RATE_PER_ADDRESS", "30/15m")
# The client address is REMOTE_ADDR unless this names a header the proxy in front sets (e.g.
# X-Forwarded-For, X-Real-IP); then it is the SENDOOK_TRUSTED_PROXY_COUNT-th entry from the
# right of that header. Set it only when every request passes through that proxy: a client
# reaching gunicorn directly could write the header itself.
SENDOOK_TRUSTED_PROXY_HEADER = env("SENDOOK_TRUSTED_PROXY_HEADER")
SENDOOK_TRUSTED_PROXY_COUNT = env_int("SENDOOK_TRUSTED_PROXY_COUNT", 1)

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Set on OrgScopedViewSet (naming it here would import sendook.api.auth while DRF loads).
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    # OrgScopedViewSet sets the same; here so that any other API view is scope-checked too.
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "sendook.api.permissions.ScopePermission",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "sendook.openapi.ScopedAutoSchema",
    "EXCEPTION_HANDLER": "sendook.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sendook API",
    "DESCRIPTION": "Email for AI agents: inboxes, messages, threads, webhooks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/v1",
    # /v1/docs loads Swagger UI from our own static files (drf-spectacular-sidecar, pinned in
    # requirements.txt), never from a CDN at @latest without integrity.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Unset optionals are omitted from responses, so read-only fields cannot all be required.
    "COMPONENT_NO_READ_ONLY_REQUIRED": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "sendook.openapi.add_error_responses",
        "sendook.openapi.strip_trailing_slashes",
    ],
    "ENUM_NAME_OVERRIDES": {},
}

# Rate limits per organization, django-ratelimit syntax ("100/h"). An organization may
# override the send limit and the daily cap on its own row.
SENDOOK_API_RATE_LIMIT = env("SENDOOK_API_RATE_LIMIT", "6000/m")
SENDOOK_SEND_RATE_LIMIT = env("SENDOOK_SEND_RATE_LIMIT", "100/h")
SENDOOK_DAILY_SEND_CAP = env_int("SENDOOK_DAILY_SEND_CAP", 1000)
SENDOOK_IDEMPOTENCY_TTL_HOURS = env_int("SENDOOK_IDEMPOTENCY_TTL_HOURS", 24)
# The models sendook.api reads, named the way AUTH_USER_MODEL is, so the kernel imports no app.
SENDOOK_API_KEY_MODEL = "inboxes.ApiKey"
SENDOOK_IDEMPOTENCY_MODEL = "inboxes.IdempotencyRecord"
SENDOOK_INBOX_MODEL = "inboxes.Inbox"

SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["MessageStatusEnum"] = "messages.models.Message.Status"  # type: ignore[index]
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["ThreadStatusEnum"] = "messages.models.ThreadStatus"  # type: ignore[index]

# --- Mail: domains, sending, limits, supervision, shared threads, trust, receiving, webhooks ----
from sendook.settings.mail import *  # noqa: E402, F403  (sendook/settings/mail.py)
from sendook.settings.mail import (  # noqa: E402  (read below, by the beat schedule)
    SENDOOK_SCHEDULED_SWEEP_SECONDS,
    SENDOOK_SNOOZE_SWEEP_SECONDS,
    SENDOOK_WEBHOOK_SWEEP_INTERVAL,
)

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
# Without a broker, tasks run in-process at enqueue time: the one-machine default.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Without a broker (the embedded defaults) the ASGI process runs these sweeps itself
# (sendook/embedded_beat.py); 0 turns that off.
SENDOOK_EMBEDDED_BEAT = env_bool("SENDOOK_EMBEDDED_BEAT", True)
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "purge-idempotency-keys": {"task": "inboxes.tasks.purge_idempotency_keys", "schedule": 3600},
    "requeue-stuck-messages": {"task": "messages.tasks.requeue_stuck_messages", "schedule": 60},
    "sweep-webhook-deliveries": {
        "task": "webhooks.tasks.sweep_webhook_deliveries",
        "schedule": SENDOOK_WEBHOOK_SWEEP_INTERVAL,
    },
}
CELERY_BEAT_SCHEDULE["requeue-stale-inbound"] = {
    "task": "messages.tasks.requeue_stale_inbound",
    "schedule": 300,
}
CELERY_BEAT_SCHEDULE["release-scheduled-messages"] = {
    "task": "messages.tasks.release_scheduled_messages",
    "schedule": SENDOOK_SCHEDULED_SWEEP_SECONDS,
}
CELERY_BEAT_SCHEDULE["wake-snoozed-threads"] = {
    "task": "messages.tasks.wake_snoozed_threads",
    "schedule": SENDOOK_SNOOZE_SWEEP_SECONDS,
}
CELERY_BEAT_SCHEDULE["recheck-domains"] = {"task": "inboxes.tasks.recheck_domains", "schedule": 600}

# --- Agents connect directly: the live event stream (sendook/events/stream) and /mcp ---------
# Redis for waking every process's stream hub when an event commits (pub/sub); empty: each hub
# polls the database every SENDOOK_STREAM_POLL_SECONDS instead (the embedded default).
_redis_cache = CACHE_URL if CACHE_URL.startswith(("redis://", "rediss://")) else ""
SENDOOK_STREAM_URL = env("SENDOOK_STREAM_URL", env("REDIS_URL") or _redis_cache)
SENDOOK_STREAM_POLL_SECONDS = float(env("SENDOOK_STREAM_POLL_SECONDS", "1"))
SENDOOK_STREAM_HEARTBEAT_SECONDS = float(env("SENDOOK_STREAM_HEARTBEAT_SECONDS", "15"))
# A stream that delivered no event for this long is closed (clients resume with Last-Event-ID).
SENDOOK_STREAM_IDLE_SECONDS = float(env("SENDOOK_STREAM_IDLE_SECONDS", "1800"))
SENDOOK_STREAM_MAX_PER_ORG = env_int("SENDOOK_STREAM_MAX_PER_ORG", 100)
# Events held for a client that is not reading before it is cut off.
SENDOOK_STREAM_BUFFER_EVENTS = env_int("SENDOOK_STREAM_BUFFER_EVENTS", 1000)

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # The MCP SDK logs every request it handles at INFO ("Processing request of type …").
        "mcp": {"level": env("SENDOOK_MCP_LOG_LEVEL", "WARNING")},
    },
}
