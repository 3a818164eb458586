#!/bin/sh
# One image, one role per container: `web` (default), `worker`, `beat`, `smtpd`, `migrate`,
# or any other command (e.g. `python manage.py createorg Acme --json`). Extra arguments after
# the role are passed on. Migrations run only in the `migrate` role, never on web start-up, so
# several web containers can start at once and a deploy migrates exactly once.
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
  web)
    # WEB_CONCURRENCY and GUNICORN_CMD_ARGS are read by gunicorn itself as well.
    exec gunicorn sendook.wsgi \
      --bind "0.0.0.0:${PORT:-8000}" \
      --workers "${WEB_CONCURRENCY:-2}" \
      --access-logfile - \
      "$@"
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
