from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "sendook.events"
    label = "events"
    verbose_name = "Event log"
