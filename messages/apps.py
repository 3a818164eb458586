from django.apps import AppConfig


class MailConfig(AppConfig):
    # django.contrib.messages already owns the label "messages".
    name = "messages"
    label = "mail"
    verbose_name = "Mail"

    def ready(self) -> None:
        from messages import receivers  # noqa: F401  (connects the Anymail signal receivers)
