"""Writes for events and webhooks: the event log and its fan-out (events), webhook management
(webhooks), and the delivery of one event to one webhook (delivery)."""

from webhooks.services.events import build_envelope, record_event

__all__ = ["build_envelope", "record_event"]
