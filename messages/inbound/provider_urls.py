"""/webhooks/anymail/: only the provider webhooks enabled in settings (built at import)."""

from messages.inbound.providers import provider_urlpatterns

urlpatterns = provider_urlpatterns()
