"""gunicorn settings of the web role (deploy/entrypoint.sh; reliability/slow_clients.py).

Threaded workers (gthread): a client that sends its headers or body slowly holds one thread,
not a whole worker process, so a few slow clients no longer stall the API; past
WEB_CONCURRENCY x GUNICORN_THREADS of them they would, which is why docker-compose.yml puts
nginx in front, buffering whole requests before gunicorn sees them (README "Operations").
Every thread may hold a database connection (CONN_MAX_AGE): size PostgreSQL's max_connections
for web containers x WEB_CONCURRENCY x GUNICORN_THREADS.
"""

import os

# Inside a container: every interface (the proxy reaches it over the compose network).
bind = f"{os.environ.get('GUNICORN_HOST') or '0.0.0.0'}:{os.environ.get('PORT') or '8000'}"  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or 8)
# A worker that does not report in for this long (a request stuck in the application) is
# killed and replaced; /v1 requests are bounded well below it (e.g. webhooks/{id}/test: 5 s).
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
# On SIGTERM, requests in flight get this long to finish.
graceful_timeout = 30
# Idle keep-alive connections are closed after this many seconds (nginx reuses them).
keepalive = 5
accesslog = "-"
