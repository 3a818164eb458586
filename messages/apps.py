from django.apps import AppConfig


class MailConfig(AppConfig):
    # django.contrib.messages already owns the label "messages".
    name = "messages"
    label = "mail"
    verbose_name = "Mail"

    def ready(self) -> None:
        from django.core import checks

        from messages import receivers  # noqa: F401  (connects the Anymail signal receivers)
        from messages.checks import check_tracking_webhook_secret

        checks.register(check_tracking_webhook_secret, checks.Tags.security, deploy=True)
