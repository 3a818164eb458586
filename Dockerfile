# Sendook production image: one image for every role (web, realtime, worker, beat, smtpd, migrate;
# see deploy/entrypoint.sh). Build: docker build -t sendook .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SENDOOK_VAR_DIR=/var/lib/sendook \
    PORT=8000

WORKDIR /app

# Runtime pins only: requirements.txt (tests, moto, playwright, schemathesis and linters are in
# requirements-dev.txt and stay out of the image). Every runtime dependency ships a
# manylinux wheel (psycopg-binary bundles libpq), so no compiler is needed.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# An unprivileged user owns only the data directory (SQLite fallback, sandbox outbox, local
# media, beat's schedule file); the code stays read-only to it.
RUN groupadd --system --gid 1000 sendook \
    && useradd --system --uid 1000 --gid sendook --home-dir /var/lib/sendook --shell /usr/sbin/nologin sendook \
    && install -d -o sendook -g sendook /var/lib/sendook

COPY . .
RUN chmod 0755 /app/deploy/entrypoint.sh

USER sendook
VOLUME ["/var/lib/sendook"]
EXPOSE 8000 8001 2525

# For the web role (realtime: `healthcheck.py realtime`, set in docker-compose.yml); compose
# disables it for worker, beat, smtpd and migrate.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py"]

ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["web"]
