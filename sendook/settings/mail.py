"""Settings of mail itself (imported into sendook.settings): domains, sending, the limits on a
message, supervision, shared threads, trust, receiving, customer webhooks."""

from sendook.settings.env import VAR_DIR, env, env_bool, env_int, env_list

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

# /mcp's wait_for_message: the longest one call may wait for new mail (an agent calls again).
# Kept under the usual 60-100 s proxy read timeouts; the SDK's SSE pings keep the line busy.
SENDOOK_MCP_WAIT_MAX_SECONDS = env_int("SENDOOK_MCP_WAIT_MAX_SECONDS", 60)

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
