#!/bin/sh
# One image, one role per container: `web` (default), `realtime`, `worker`, `beat`, `smtpd`,
# `migrate`, or any other command (e.g. `python manage.py createorg Acme --json`). Extra
# arguments after the role are passed on. Migrations run only in the `migrate` role, never on
# web start-up, so several web containers can start at once and a deploy migrates exactly once.
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
  web)
    # Threaded workers and timeouts: deploy/gunicorn.conf.py (reads PORT, WEB_CONCURRENCY,
    # GUNICORN_THREADS, GUNICORN_TIMEOUT); GUNICORN_CMD_ARGS and extra arguments override it.
    exec gunicorn sendook.wsgi --config "$(dirname "$0")/gunicorn.conf.py" "$@"
    ;;
  realtime)
    # The ASGI process: /v1/events/stream, /live/events and /mcp (everything else too, but the
    # proxy sends only those here). Async, so thousands of open streams cost no thread each;
    # the REST API stays on `web`, since Django's sync views under ASGI share one thread per
    # process. Reached only through the proxy: it trusts its X-Forwarded-* headers
    # (FORWARDED_ALLOW_IPS narrows that to the proxy's address). On SIGTERM open streams get
    # REALTIME_GRACEFUL_TIMEOUT seconds, then are cut; clients resume with Last-Event-ID.
    # `--lifespan on`: the stream hub and MCP's session manager start before the first request,
    # and a failed start ends the process (the container restarts) instead of serving without.
    access_log="--no-access-log"
    [ "${REALTIME_ACCESS_LOG:-0}" = "1" ] && access_log="--access-log"
    exec uvicorn sendook.asgi:application \
      --host 0.0.0.0 --port "${REALTIME_PORT:-8001}" \
      --workers "${REALTIME_WORKERS:-1}" --lifespan on \
      --proxy-headers --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-*}" \
      --timeout-graceful-shutdown "${REALTIME_GRACEFUL_TIMEOUT:-10}" \
      "$access_log" "$@"
    ;;
  worker)
    exec celery -A sendook worker --loglevel "${LOG_LEVEL:-INFO}" "$@"
    ;;
  beat)
    # Exactly one beat per deployment: it enqueues the periodic sweeps.
    exec celery -A sendook beat --loglevel "${LOG_LEVEL:-INFO}" \
      --schedule "${SENDOOK_VAR_DIR:-/var/lib/sendook}/celerybeat-schedule" "$@"
    ;;
  smtpd)
    exec python manage.py smtpd --host 0.0.0.0 --port "${SMTPD_PORT:-2525}" "$@"
    ;;
  migrate)
    exec python manage.py migrate --noinput "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
