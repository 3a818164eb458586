from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from sendook.events import subscribers
        from webhooks import tasks  # noqa: F401  (registers the tasks queueing finds by name)
        from webhooks.services.fanout import subscriber

        subscribers.register(subscriber)
