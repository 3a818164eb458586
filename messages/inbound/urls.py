"""Provider webhooks for inbound mail, mounted under /webhooks/."""

from django.urls import path

from messages.inbound import views

urlpatterns = [
    path("ses", views.ses_webhook, name="ses-webhook"),
]
