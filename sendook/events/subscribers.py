"""Who hears about an event besides the log. An app that reacts to events (customer webhooks)
registers a subscriber from its AppConfig.ready(), so the log never imports it."""

from typing import Any, Protocol

from django.db.models import BooleanField, ExpressionWrapper, Q, Value
from django.db.models.expressions import BaseExpression

from sendook.events.models import Event


class Subscriber(Protocol):
    def listening(self, organization: Any) -> BaseExpression:
        """A boolean subquery: whether `organization` (an OuterRef or a pk) has anyone
        listening. Callers that already lock a row ask it there instead of in a query."""

    def event_recorded(self, event: Event) -> None:
        """Called inside the transaction that wrote the event."""


_subscribers: list[Subscriber] = []


def register(subscriber: Subscriber) -> None:
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def anyone_listening(organization: Any) -> BaseExpression:
    """For `.annotate()`: whether any subscriber listens to `organization`'s events."""
    expressions = [subscriber.listening(organization) for subscriber in _subscribers]
    if not expressions:
        return Value(False, output_field=BooleanField())
    if len(expressions) == 1:
        return expressions[0]
    condition = Q()
    for expression in expressions:
        condition |= Q(expression)
    return ExpressionWrapper(condition, output_field=BooleanField())


def notify(event: Event) -> None:
    for subscriber in _subscribers:
        subscriber.event_recorded(event)
