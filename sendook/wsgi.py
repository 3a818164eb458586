import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sendook.settings")
application = get_wsgi_application()

from sendook.startup import refuse_public_secret_key  # noqa: E402  (needs the settings loaded)

refuse_public_secret_key()
