from django.apps import AppConfig


class MailConfig(AppConfig):
    # django.contrib.messages already owns the label "messages".
    name = "messages"
    label = "mail"
    verbose_name = "Mail"

    def ready(self) -> None:
        from django.core import checks

        from messages import (
            receivers,  # noqa: F401  (connects the Anymail tracking receivers)
            tasks,  # noqa: F401  (services enqueue them by name)
        )
        from messages.checks import check_provider_webhooks
        from messages.inbound import providers  # noqa: F401  (connects the Anymail inbound receiver)

        checks.register(check_provider_webhooks, checks.Tags.security)
        from django.db.backends.signals import connection_created

        from messages.search.sqlite import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="sendook_casefold")
