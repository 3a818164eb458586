"""Deployment checks of the mail app."""

from typing import Any

from django.conf import settings
from django.core.checks import Warning as CheckWarning


def check_tracking_webhook_secret(app_configs: Any, **kwargs: Any) -> list[CheckWarning]:
    # Without a secret, Anymail accepts unauthenticated posts to the SES tracking webhook, and a
    # forged "hard bounce" would put any address on an organization's suppression list.
    if "anymail" in settings.EMAIL_BACKEND and not settings.ANYMAIL.get("WEBHOOK_SECRET"):
        return [
            CheckWarning(
                "ANYMAIL_WEBHOOK_SECRET is not set: the SES tracking webhook accepts anyone.",
                hint="Set ANYMAIL_WEBHOOK_SECRET=user:password and use it in the SNS subscription URL.",
                id="mail.W001",
            )
        ]
    return []
