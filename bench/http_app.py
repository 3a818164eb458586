"""The WSGI application gunicorn serves during the HTTP benchmarks: the product plus its baselines.

    gunicorn bench.http_app:application -w 2

Every path is the product's (sendook.urls, through Django and DRF), except:
- /bare-list/v1/inboxes/{id}/messages: bench/listing.py's bare WSGI app (one psycopg connection per
  worker process, the list endpoint's SQL, the same JSON);
- /bare/{inbox id}/send: bench/bare_urls.py's bare send view (inserts + enqueue, no API layer).
Both sides run in the same gunicorn workers, so they share processes, connections and machine.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sendook.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402

from bench.listing import make_bare_app  # noqa: E402

settings.ROOT_URLCONF = "bench.bare_urls"
_db = settings.DATABASES["default"]
_conninfo = f"host={_db['HOST']} port={_db['PORT'] or 5432} user={_db['USER']} dbname={_db['NAME']}"
if _db.get("PASSWORD"):
    _conninfo += f" password={_db['PASSWORD']}"

_django = WSGIHandler()
_bare_list, _bare_connection = make_bare_app(_conninfo)
BARE_LIST_PREFIX = "/bare-list"


def application(environ, start_response):  # type: ignore[no-untyped-def]
    path = environ.get("PATH_INFO", "")
    if path.startswith(BARE_LIST_PREFIX + "/"):
        environ["PATH_INFO"] = path[len(BARE_LIST_PREFIX) :]
        return _bare_list(environ, start_response)
    return _django(environ, start_response)
