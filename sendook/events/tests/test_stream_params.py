"""What a stream may ask for, checked before it starts (no server needed)."""

from __future__ import annotations

import pytest

from sendook.events.exceptions import EventNotFound
from sendook.events.models import EventType
from sendook.events.services import record_event
from sendook.events.stream.params import (
    InboxNotFound,
    parse_stream_request,
    resolve_stream_request,
)
from sendook.exceptions import ValidationFailed

EVENT_ID = "evt_01JABCDEFGHJKMNPQRSTVWXYZ0"


def test_no_parameters_ask_for_every_event_from_now():
    request = parse_stream_request(b"", None)
    assert (request.event_types, request.inbox_id, request.after) == (None, None, None)


def test_event_names_may_be_comma_separated_or_repeated():
    request = parse_stream_request(
        b"events=message.received,%20thread.updated&events=note.created", None
    )
    assert request.event_types == {"message.received", "thread.updated", "note.created"}


def test_an_unknown_event_name_is_refused_by_name():
    with pytest.raises(ValidationFailed) as refused:
        parse_stream_request(b"events=message.received,message.exploded", None)
    assert refused.value.code == "unknown_event"
    assert "message.exploded" in refused.value.message
    assert refused.value.fields == {"events": [refused.value.message]}


def test_the_webhook_test_ping_is_not_an_event_a_stream_carries():
    with pytest.raises(ValidationFailed):
        parse_stream_request(b"events=webhook.test", None)


def test_a_reconnect_resumes_from_its_last_event_id_not_from_the_urls_after():
    # EventSource reconnects to the same URL (?after= and all) with the header it last saw.
    other = EVENT_ID[:-1] + "1"
    resumed = parse_stream_request(f"after={EVENT_ID}".encode(), other)
    assert (resumed.after, resumed.after_source) == (other, "Last-Event-ID")
    assert parse_stream_request(f"after={EVENT_ID}".encode(), None).after == EVENT_ID
    assert parse_stream_request(f"after={EVENT_ID}".encode(), "  ").after == EVENT_ID
    header = parse_stream_request(b"", other)
    assert (header.after, header.after_source) == (other, "Last-Event-ID")


@pytest.mark.parametrize(
    ("query", "header", "field"),
    [
        (b"after=42", None, "after"),
        (b"after=evt_' OR 1=1--", None, "after"),
        (b"", "garbage", "Last-Event-ID"),
        (b"", "evt_" + "0" * 200, "Last-Event-ID"),
        (b"inboxId=a&inboxId=b", None, "inboxId"),
    ],
)
def test_a_malformed_resume_id_or_repeated_inbox_is_a_400_naming_the_input(query, header, field):
    with pytest.raises(ValidationFailed) as refused:
        parse_stream_request(query, header)
    assert refused.value.status_code == 400
    assert list(refused.value.fields) == [field]


def test_a_query_that_is_not_utf8_or_is_huge_is_refused():
    with pytest.raises(ValidationFailed):
        parse_stream_request(b"events=%ff%fe", None)
    with pytest.raises(ValidationFailed):
        parse_stream_request(b"events=" + b"a" * 5000, None)


def test_an_inbox_id_that_cannot_be_an_id_is_not_found():
    with pytest.raises(InboxNotFound):
        parse_stream_request(b"inboxId=../../etc", None)


@pytest.mark.django_db
def test_another_organizations_inbox_or_event_is_not_found(org, other_org):
    from inboxes.tests.factories import InboxFactory

    theirs = InboxFactory(organization=other_org)
    their_event = record_event(other_org, event_type=EventType.INBOX_UPDATED, payload={})
    with pytest.raises(InboxNotFound):
        resolve_stream_request(
            org, parse_stream_request(f"inboxId={theirs.public_id}".encode(), None), inbox_ids=None
        )
    with pytest.raises(EventNotFound):
        resolve_stream_request(
            org, parse_stream_request(b"", their_event.public_id), inbox_ids=None
        )


@pytest.mark.django_db
def test_a_limited_key_resolves_only_its_inboxes_and_their_events(org):
    from inboxes.tests.factories import InboxFactory

    mine, other = InboxFactory(organization=org), InboxFactory(organization=org)
    seen = record_event(
        org, event_type=EventType.INBOX_UPDATED, payload={}, inbox_id=mine.public_id
    )
    unseen = record_event(
        org, event_type=EventType.INBOX_UPDATED, payload={}, inbox_id=other.public_id
    )
    limited = frozenset({mine.public_id})
    with pytest.raises(InboxNotFound):
        resolve_stream_request(
            org,
            parse_stream_request(f"inboxId={other.public_id}".encode(), None),
            inbox_ids=limited,
        )
    with pytest.raises(EventNotFound):
        resolve_stream_request(org, parse_stream_request(b"", unseen.public_id), inbox_ids=limited)
    wanted = resolve_stream_request(
        org, parse_stream_request(b"", seen.public_id), inbox_ids=limited
    )
    assert wanted.after_seq == 1  # numbered on the way: it had just committed
    assert wanted.inbox_ids == limited


@pytest.mark.django_db
def test_under_wsgi_the_stream_route_answers_503_naming_the_asgi_process(api_client, client):
    response = api_client.get("/v1/events/stream")
    assert response.status_code == 503
    assert response.json()["code"] == "served_by_asgi"
    assert "/v1/events/stream is served by the ASGI process" in response.json()["error"]
    assert "sendook.asgi" in response.json()["error"]
    assert client.get("/v1/events/stream").status_code == 401
