"""Helpers of the delivery tests: events recorded with their deliveries queued by hand, and the
periodic sweep driven as beat would."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sendook.events.models import EventType
from sendook.events.services import record_event
from webhooks.models import Delivery, Webhook
from webhooks.services.delivery import queueing

Status = Delivery.Status


@pytest.fixture
def queued(monkeypatch):
    """What on-commit queueing hands to workers, kept here for the test to run by hand."""
    jobs = []
    monkeypatch.setattr(queueing, "enqueue_deliveries", lambda pairs: jobs.extend(pairs))
    return jobs


@pytest.fixture
def record(org, on_commit):
    def record(count):
        with on_commit():  # the events' transaction commits: their deliveries are queued
            return [
                record_event(org, event_type=EventType.INBOX_CREATED, payload={"n": n})
                for n in range(count)
            ]

    return record


def make_webhook(org, url, secret="whsec_" + "B" * 44):
    return Webhook.objects.create(
        organization=org, url=url, events=[EventType.INBOX_CREATED], secret=secret
    )


def sweep_until_final(on_commit, rounds=10):
    """Drive the periodic sweep as beat would (time passing), until nothing is left to retry."""
    for _ in range(rounds):
        Delivery.objects.filter(status__in=[Status.PENDING, Status.FAILED]).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
        with on_commit():
            if not queueing.sweep_due_deliveries():
                return
