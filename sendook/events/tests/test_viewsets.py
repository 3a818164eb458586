import pytest

from sendook.events.models import EventType
from sendook.events.services import record_event

pytestmark = pytest.mark.django_db


def _events(organization, count, *, inbox_id=""):
    return [
        record_event(
            organization, event_type=EventType.INBOX_UPDATED, payload={"n": n}, inbox_id=inbox_id
        )
        for n in range(count)
    ]


def test_the_feed_lists_the_organizations_events_oldest_first_as_webhook_envelopes(api_client, org):
    inbox = api_client.post("/v1/inboxes", {"name": "Bot"}, format="json").json()
    response = api_client.get("/v1/events")
    assert response.status_code == 200
    [event] = response.json()
    assert event["id"].startswith("evt_")
    assert event["event"] == "inbox.created"
    assert event["organizationId"] == org.public_id
    assert event["inboxId"] == inbox["id"]
    assert "messageId" not in event  # unset optionals are omitted
    assert event["payload"]["email"] == inbox["email"]
    assert event["createdAt"].endswith("Z") and len(event["createdAt"]) == 24
    assert set(event) == {"id", "event", "createdAt", "organizationId", "inboxId", "payload"}


def test_a_consumer_catches_up_from_the_last_event_it_saw(api_client, org):
    events = _events(org, 7)
    seen = api_client.get(f"/v1/events?after={events[2].public_id}&limit=3")
    assert [row["payload"]["n"] for row in seen.json()] == [3, 4, 5]
    assert 'rel="next"' in seen.headers["Link"]
    # Following Link pages on; so does asking again with the last id seen.
    next_url = seen.headers["Link"].split(">")[0].lstrip("<")
    assert [row["payload"]["n"] for row in api_client.get(next_url).json()] == [6]
    last = seen.json()[-1]["id"]
    rest = api_client.get(f"/v1/events?after={last}")
    assert [row["payload"]["n"] for row in rest.json()] == [6]
    assert "Link" not in rest.headers
    assert api_client.get(f"/v1/events?after={events[-1].public_id}").json() == []


def test_one_event_can_be_read_by_id(api_client, org):
    [event] = _events(org, 1, inbox_id="inbox_x")
    body = api_client.get(f"/v1/events/{event.public_id}").json()
    assert body["id"] == event.public_id and body["inboxId"] == "inbox_x"


def test_another_organizations_events_are_invisible(api_client, other_org):
    [theirs] = _events(other_org, 1)
    assert api_client.get("/v1/events").json() == []
    response = api_client.get(f"/v1/events/{theirs.public_id}")
    assert response.status_code == 404
    assert response.json() == {
        "error": "Event not found",
        "message": "Event not found",
        "code": "event_not_found",
    }
    # Paging after another organization's event is the same as after an unknown id.
    assert api_client.get(f"/v1/events?after={theirs.public_id}").status_code == 404
    assert api_client.get("/v1/events?after=evt_nope").status_code == 404


def test_bad_paging_input_is_a_400_naming_the_parameter(api_client):
    response = api_client.get("/v1/events?limit=zero")
    assert response.status_code == 400 and "limit" in response.json()["fields"]
    response = api_client.get("/v1/events?cursor=!!!")
    assert response.status_code == 400 and "cursor" in response.json()["fields"]


def test_the_feed_needs_an_api_key(anonymous_client):
    response = anonymous_client.get("/v1/events")
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"


@pytest.mark.django_db(transaction=True)
def test_an_event_that_commits_late_is_still_listed_after_the_last_id_seen(org):
    """Event ids are taken at insert; a transaction holding an earlier id can commit after a
    later one. A consumer that paged past the later event must still get the earlier one."""
    import threading

    from django.db import connection, transaction
    from rest_framework.test import APIClient

    from inboxes.services import create_api_key

    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer: a second event cannot commit while the first is open")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_api_key(org, name='feed').secret}")
    inserted, release, done = threading.Event(), threading.Event(), threading.Event()

    def slow_transaction() -> None:  # e.g. a big inbound mail being stored
        try:
            with transaction.atomic():
                record_event(org, event_type=EventType.INBOX_UPDATED, payload={"n": "late"})
                inserted.set()
                release.wait(10)
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=slow_transaction)
    thread.start()
    assert inserted.wait(10)
    record_event(org, event_type=EventType.INBOX_UPDATED, payload={"n": "early"})

    first = client.get("/v1/events").json()
    assert [row["payload"]["n"] for row in first] == ["early"]  # the open one is not visible yet
    release.set()
    assert done.wait(10)
    thread.join(10)

    rest = client.get(f"/v1/events?after={first[-1]['id']}").json()
    assert [row["payload"]["n"] for row in rest] == ["late"]


def test_reading_the_feed_writes_nothing_of_another_organization(api_client, org, other_org):
    from sendook.events.models import Event

    [theirs] = _events(other_org, 1)
    _events(org, 2)
    assert len(api_client.get("/v1/events").json()) == 2
    theirs.refresh_from_db()
    assert theirs.feed_seq is None  # numbered only when its own organization reads its feed
    assert Event.objects.filter(organization=org, feed_seq__isnull=True).count() == 0
