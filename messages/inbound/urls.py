"""Provider webhooks for inbound mail, mounted under /webhooks/."""

from django.urls import path, re_path

from messages.inbound import providers
from messages.inbound.ses import views

urlpatterns = [
    path("ses", views.ses_webhook, name="ses-webhook"),
    # Anything else under /webhooks/ is a JSON 404, never the HTML page.
    re_path(r"^.*$", providers.provider_not_found),
]
