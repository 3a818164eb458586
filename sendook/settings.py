"""The only settings module. Everything comes from environment variables (see .env.example).

The defaults run the whole product on one machine with nothing else installed: SQLite under
var/, Celery tasks executed in-process, outbound mail captured by the sandbox backend.
DATABASE_URL, CELERY_BROKER_URL, CACHE_URL/REDIS_URL and EMAIL_BACKEND switch to PostgreSQL,
Redis + Celery workers and Amazon SES.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SENDOOK_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


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

# --- Mail domains ---------------------------------------------------------------------------
SENDOOK_DEFAULT_DOMAIN = env("SENDOOK_DEFAULT_DOMAIN", "sendook.localhost").lower()
# Local parts nobody may take on the shared default domain: RFC 2142's role mailboxes and the
# addresses certificate authorities mail to prove control of a domain (CA/B Forum BR 3.2.2.4.4).
SENDOOK_RESERVED_LOCAL_PARTS = [
    part.strip().lower()
    for part in (
        env("SENDOOK_RESERVED_LOCAL_PARTS")
        or "postmaster,abuse,admin,administrator,webmaster,hostmaster,security,noc,info,"
        "marketing,sales,support,usenet,news,uucp,ftp,www,root,noreply,no-reply,"
        "mailer-daemon,ssladmin,ssl-admin,sysadmin,it,dmarc,bounce,bounces"
    ).split(",")
    if part.strip()
]
# Days a deleted inbox's address stays out of reach of other organizations (its owner may take
# it back at once), so ongoing replies to it never reach a newcomer.
SENDOOK_ADDRESS_QUARANTINE_DAYS = env_int("SENDOOK_ADDRESS_QUARANTINE_DAYS", 90)
SENDOOK_INBOUND_MX = env("SENDOOK_INBOUND_MX", "inbound-smtp.us-east-1.amazonaws.com")
SENDOOK_SPF_INCLUDE = env("SENDOOK_SPF_INCLUDE", "amazonses.com")
SENDOOK_DMARC_POLICY = env("SENDOOK_DMARC_POLICY", "v=DMARC1; p=none")
# "host:port" of the DNS server used to verify domains; empty = the system resolver.
SENDOOK_DNS_RESOLVER = env("SENDOOK_DNS_RESOLVER")
SENDOOK_DNS_TIMEOUT = float(env("SENDOOK_DNS_TIMEOUT", "3"))  # one try of one lookup
# The whole of POST /v1/domains/{id}/verify: its lookups run in parallel and whatever is still
# unanswered after this many seconds is "temperror".
SENDOOK_DNS_VERIFY_TIMEOUT = float(env("SENDOOK_DNS_VERIFY_TIMEOUT", "4"))
# Checking who sent a received message (DKIM, ARC, SPF, DMARC; messages/services/authentication.py)
# through the same resolver: all of one message's lookups within this many seconds, each lookup
# within SENDOOK_AUTH_DNS_TIMEOUT; what is still unanswered then is "temperror".
SENDOOK_AUTH_TIME_BUDGET_SECONDS = float(env("SENDOOK_AUTH_TIME_BUDGET_SECONDS", "5"))
SENDOOK_AUTH_DNS_TIMEOUT = float(env("SENDOOK_AUTH_DNS_TIMEOUT", "2"))
# DKIM signatures checked per message (the first ones, top down); the rest are ignored.
SENDOOK_AUTH_MAX_SIGNATURES = env_int("SENDOOK_AUTH_MAX_SIGNATURES", 5)
# A verified domain whose checks fail stays verified (and unclaimable) this long after its last
# full pass; then it lapses (event domain.unverified) and its inboxes cannot send.
SENDOOK_DOMAIN_GRACE_HOURS = float(env("SENDOOK_DOMAIN_GRACE_HOURS", "72"))
# Verified domains are re-checked this often by a periodic task, at most a batch per run.
SENDOOK_DOMAIN_RECHECK_MINUTES = env_int("SENDOOK_DOMAIN_RECHECK_MINUTES", 60)
SENDOOK_DOMAIN_RECHECK_BATCH = env_int("SENDOOK_DOMAIN_RECHECK_BATCH", 200)
# When true, creating a domain registers it as an SES identity and publishes its DKIM tokens.
SENDOOK_SES_IDENTITIES = env_bool("SENDOOK_SES_IDENTITIES", False)

# --- AWS (SES, SNS, S3); endpoint URL points boto3 at a local server in tests -------------
AWS_REGION = env("AWS_REGION", env("AWS_DEFAULT_REGION", "us-east-1"))
AWS_ENDPOINT_URL = env("AWS_ENDPOINT_URL")

# --- Outbound mail --------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", "messages.sandbox.SandboxEmailBackend")
SENDOOK_SANDBOX_DIR = VAR_DIR / "sandbox"
ANYMAIL = {
    "AMAZON_SES_CLIENT_PARAMS": {
        "region_name": AWS_REGION,
        **({"endpoint_url": AWS_ENDPOINT_URL} if AWS_ENDPOINT_URL else {}),
    },
    "AMAZON_SES_CONFIGURATION_SET_NAME": env("SENDOOK_SES_CONFIGURATION_SET") or None,
    # Basic-auth "user:password" (comma-separated to rotate) every provider webhook requires.
    "WEBHOOK_SECRET": env_list("ANYMAIL_WEBHOOK_SECRET") or None,
    # Providers' webhook signing keys, each read from ANYMAIL_<NAME> when set.
    **{
        name: env(f"ANYMAIL_{name}")
        for name in (
            "MAILERSEND_INBOUND_SECRET",
            "MAILERSEND_SIGNING_SECRET",
            "MAILGUN_WEBHOOK_SIGNING_KEY",
            "MAILTRAP_INBOUND_SECRET",
            "MAILTRAP_TRACKING_SECRET",
            "POSTAL_WEBHOOK_KEY",
            "RESEND_INBOUND_SECRET",
            "RESEND_SIGNING_SECRET",
            "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY",
        )
        if env(f"ANYMAIL_{name}")
    },
}
# Anymail provider webhooks mounted under /webhooks/anymail/<provider>/inbound|tracking/
# (comma-separated, e.g. "postmark,mailgun"); empty mounts none. Each needs its credentials
# above (a system-check error otherwise); Amazon SES uses /webhooks/ses instead.
SENDOOK_INBOUND_PROVIDERS = env_list("SENDOOK_INBOUND_PROVIDERS")
SENDOOK_TRACKING_PROVIDERS = env_list("SENDOOK_TRACKING_PROVIDERS")

# --- Messages: limits on what one send may carry, and the outbound worker --------------------
SENDOOK_MAX_RECIPIENTS = env_int("SENDOOK_MAX_RECIPIENTS", 50)
SENDOOK_MAX_ATTACHMENTS = env_int("SENDOOK_MAX_ATTACHMENTS", 20)
SENDOOK_MAX_ATTACHMENT_BYTES = env_int("SENDOOK_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
# Bodies plus decoded attachments; SES refuses raw messages over 40 MB after base64.
SENDOOK_MAX_MESSAGE_BYTES = env_int("SENDOOK_MAX_MESSAGE_BYTES", 25 * 1024 * 1024)
SENDOOK_SEND_MAX_RETRIES = env_int("SENDOOK_SEND_MAX_RETRIES", 6)
# A message still queued this long after its last change is re-enqueued by the sweep.
SENDOOK_REQUEUE_AFTER_SECONDS = env_int("SENDOOK_REQUEUE_AFTER_SECONDS", 60)
# A message handed to the provider whose answer was not recorded within this many seconds
# (the worker died in between) is failed as "outcome unknown" instead of being sent twice.
# Keep it above the provider call's own timeouts.
SENDOOK_SEND_CLAIM_SECONDS = env_int("SENDOOK_SEND_CLAIM_SECONDS", 300)
# Lifetime of the signed links the staff UI gives inline images (a sandboxed frame fetches them
# without cookies, so the link is a bearer token: keep it short).
SENDOOK_ATTACHMENT_LINK_SECONDS = env_int("SENDOOK_ATTACHMENT_LINK_SECONDS", 300)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["MessageStatusEnum"] = "messages.models.Message.Status"  # type: ignore[index]
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["ThreadStatusEnum"] = "messages.models.ThreadStatus"  # type: ignore[index]

# --- Supervision --------------------------------------------------------------------------------
# How far ahead a send's sendAt may be.
SENDOOK_MAX_SEND_AT_DAYS = env_int("SENDOOK_MAX_SEND_AT_DAYS", 30)
# How often the sweep hands due scheduled messages to the workers, and how many per run.
SENDOOK_SCHEDULED_SWEEP_SECONDS = env_int("SENDOOK_SCHEDULED_SWEEP_SECONDS", 5)
SENDOOK_SCHEDULED_SWEEP_BATCH = env_int("SENDOOK_SCHEDULED_SWEEP_BATCH", 500)

# --- Shared threads -----------------------------------------------------------------------------
# How often the sweep reopens snoozed threads whose time has come, and how many per run.
SENDOOK_SNOOZE_SWEEP_SECONDS = env_int("SENDOOK_SNOOZE_SWEEP_SECONDS", 30)
SENDOOK_SNOOZE_SWEEP_BATCH = env_int("SENDOOK_SNOOZE_SWEEP_BATCH", 500)
# The longest internal note, in characters.
SENDOOK_NOTE_MAX_CHARS = env_int("SENDOOK_NOTE_MAX_CHARS", 10000)

# --- Trust and the agent context view ----------------------------------------------------------
# How long the domains an organization owns and corresponds with (the lookalike check's
# reference) are cached; a counterparty added inside the window is compared after a refresh.
SENDOOK_TRUST_DOMAINS_SECONDS = env_int("SENDOOK_TRUST_DOMAINS_SECONDS", 300)
# GET …/threads/{id}/context: the time one answer may spend extracting attachment text, and
# the largest (and default) maxChars.
SENDOOK_CONTEXT_SECONDS = float(env("SENDOOK_CONTEXT_SECONDS", "20"))
SENDOOK_CONTEXT_MAX_CHARS = env_int("SENDOOK_CONTEXT_MAX_CHARS", 200000)

# --- Inbound mail -------------------------------------------------------------------------------
# Hard limits for parsing a received message; beyond them it is quarantined (raw kept).
SENDOOK_INBOUND_MAX_BYTES = env_int("SENDOOK_INBOUND_MAX_BYTES", 40 * 1024 * 1024)
SENDOOK_INBOUND_MAX_PARTS = env_int("SENDOOK_INBOUND_MAX_PARTS", 500)
SENDOOK_INBOUND_MAX_DEPTH = env_int("SENDOOK_INBOUND_MAX_DEPTH", 20)
SENDOOK_INBOUND_MAX_HEADERS = env_int("SENDOOK_INBOUND_MAX_HEADERS", 1000)
SENDOOK_INBOUND_MAX_HEADER_BYTES = env_int("SENDOOK_INBOUND_MAX_HEADER_BYTES", 64 * 1024)
SENDOOK_INBOUND_PARSE_SECONDS = float(env("SENDOOK_INBOUND_PARSE_SECONDS", "10"))
# Subject-based threading only joins threads active within this many days.
SENDOOK_THREAD_SUBJECT_WINDOW_DAYS = env_int("SENDOOK_THREAD_SUBJECT_WINDOW_DAYS", 30)
# Raw records still pending after this many minutes are queued again by a periodic sweep.
SENDOOK_INBOUND_REQUEUE_MINUTES = env_int("SENDOOK_INBOUND_REQUEUE_MINUTES", 10)
# SES via SNS: accepted topics and S3 buckets (comma-separated); empty accepts nothing.
SENDOOK_SES_TOPIC_ARNS = env_list("SENDOOK_SES_TOPIC_ARNS")
SENDOOK_SES_S3_BUCKETS = env_list("SENDOOK_SES_S3_BUCKETS")
# Largest /webhooks/ses body read (SNS messages are at most 256 KiB).
SENDOOK_SNS_MAX_BODY_BYTES = env_int("SENDOOK_SNS_MAX_BODY_BYTES", 1024 * 1024)
# Test-only: dial the SNS certificate host at this host:port and trust this CA bundle.
SENDOOK_SNS_CERT_CONNECT_TO = env("SENDOOK_SNS_CERT_CONNECT_TO") or None
SENDOOK_SNS_CA_BUNDLE = env("SENDOOK_SNS_CA_BUNDLE") or None

# --- Customer webhooks ----------------------------------------------------------------------
# Loopback and private-network receivers are refused unless this is on (development, tests, a
# receiver on the same LAN). Link-local, metadata, multicast and non-http(s) stay refused.
SENDOOK_WEBHOOK_ALLOW_PRIVATE = env_bool("SENDOOK_WEBHOOK_ALLOW_PRIVATE", False)
# Seconds to wait after each failed attempt; one more failure after the last one is final.
# The default backs off exponentially for about a day (27.7 h over 10 attempts).
SENDOOK_WEBHOOK_RETRY_SCHEDULE = [
    float(item)
    for item in env_list(
        "SENDOOK_WEBHOOK_RETRY_SCHEDULE", "30,120,600,1800,3600,7200,14400,28800,43200"
    )
]
# Each retry waits its scheduled time stretched by up to this fraction at random.
SENDOOK_WEBHOOK_RETRY_JITTER = float(env("SENDOOK_WEBHOOK_RETRY_JITTER", "0.2"))
SENDOOK_WEBHOOK_CONNECT_TIMEOUT = float(env("SENDOOK_WEBHOOK_CONNECT_TIMEOUT", "5"))
SENDOOK_WEBHOOK_TIMEOUT = float(env("SENDOOK_WEBHOOK_TIMEOUT", "10"))  # whole request
SENDOOK_WEBHOOK_MAX_RESPONSE_BYTES = env_int("SENDOOK_WEBHOOK_MAX_RESPONSE_BYTES", 65536)
# A queued delivery that no worker finished within this many seconds (lost message, killed
# worker) is picked up again by the sweep, which runs every SENDOOK_WEBHOOK_SWEEP_INTERVAL.
SENDOOK_WEBHOOK_CLAIM_SECONDS = float(env("SENDOOK_WEBHOOK_CLAIM_SECONDS", "120"))
SENDOOK_WEBHOOK_SWEEP_INTERVAL = float(env("SENDOOK_WEBHOOK_SWEEP_INTERVAL", "15"))
SENDOOK_WEBHOOK_SWEEP_BATCH = env_int("SENDOOK_WEBHOOK_SWEEP_BATCH", 500)
# A worker takes up to this many due deliveries of one webhook at a time and posts them over
# one kept-alive connection, recording their attempts together. A worker killed mid-batch
# re-sends (same webhook-id) what it posted but had not recorded yet.
SENDOOK_WEBHOOK_BATCH_SIZE = env_int("SENDOOK_WEBHOOK_BATCH_SIZE", 100)
# How long a batch's deliveries stay leased to their worker; the worker renews the lease
# before any post could outlast it, so only a dead worker's lease runs out, and the sweep then
# retries its deliveries. Never less than SENDOOK_WEBHOOK_TIMEOUT + 5.
SENDOOK_WEBHOOK_LEASE_SECONDS = float(env("SENDOOK_WEBHOOK_LEASE_SECONDS", "30"))
# POST /v1/webhooks/{id}/test waits for its ping inside the request: this one deadline bounds
# the host lookup, connect and response together (deliveries use the SENDOOK_WEBHOOK_* ones).
SENDOOK_WEBHOOK_TEST_TIMEOUT = float(env("SENDOOK_WEBHOOK_TEST_TIMEOUT", "5"))

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
SENDOOK_MCP_WAIT_MAX_SECONDS = env_int("SENDOOK_MCP_WAIT_MAX_SECONDS", 60)

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
