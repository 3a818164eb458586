"""GET /v1/events/stream against the real ASGI process (uvicorn), with a real SSE client."""

from __future__ import annotations

import pytest

from sendook.events.tests.live import Stream, api


@pytest.fixture(scope="module")
def two_inboxes(asgi_server, event_writer):
    """An organization with inboxes A and B, a key limited to A, and another organization."""
    if asgi_server.process is None or asgi_server.process.poll() is not None:
        asgi_server.start()
    org, other = event_writer.new_org(), event_writer.new_org()
    a, b = (
        api(asgi_server, org.api_key, "POST", "/v1/inboxes", json={"name": name}).json()["id"]
        for name in ("A", "B")
    )
    limited = api(
        asgi_server,
        org.api_key,
        "POST",
        "/v1/api_keys",
        json={"name": "agent A", "scopes": ["events:read"], "inboxIds": [a]},
    ).json()["key"]
    unscoped = api(
        asgi_server,
        org.api_key,
        "POST",
        "/v1/api_keys",
        json={"name": "reader", "scopes": ["inboxes:read"]},
    ).json()["key"]
    other_inbox = api(asgi_server, other.api_key, "POST", "/v1/inboxes", json={"name": "X"}).json()[
        "id"
    ]
    other_event = event_writer.events(other.id, 1)[0]
    return {
        "org": org,
        "a": a,
        "b": b,
        "limited": limited,
        "unscoped": unscoped,
        "other_inbox": other_inbox,
        "other_event": other_event,
    }


def test_events_arrive_in_feed_order_with_their_ids(live_asgi, event_writer, live_org):
    with Stream(live_asgi, live_org.api_key) as stream:
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert stream.response.headers["cache-control"] == "no-cache"
        assert stream.response.headers["x-accel-buffering"] == "no"
        assert stream.frame().retry == 3000
        written = event_writer.events(live_org.id, 5)
        frames = stream.events(5)
    assert [frame.id for frame in frames] == written
    assert [frame.event for frame in frames] == ["inbox.updated"] * 5
    assert [frame.envelope["id"] for frame in frames] == written
    assert [frame.envelope["organizationId"] for frame in frames] == [live_org.id] * 5
    assert [frame.envelope["payload"]["n"] for frame in frames] == [0, 1, 2, 3, 4]


def test_without_a_resume_point_the_stream_starts_with_what_commits_after_it_opened(
    live_asgi, event_writer, live_org
):
    event_writer.events(live_org.id, 2)
    with Stream(live_asgi, live_org.api_key) as stream:
        stream.frame()  # retry: the stream is open, its starting point taken
        later = event_writer.events(live_org.id, 1)
        assert [frame.id for frame in stream.events(1)] == later


def test_after_and_last_event_id_resume_after_the_event_they_name(
    live_asgi, event_writer, live_org
):
    written = event_writer.events(live_org.id, 4)
    with Stream(live_asgi, live_org.api_key, params={"after": written[1]}) as stream:
        assert [frame.id for frame in stream.events(2)] == written[2:]
    with Stream(live_asgi, live_org.api_key, headers={"Last-Event-ID": written[0]}) as stream:
        assert [frame.id for frame in stream.events(3)] == written[1:]


def test_a_stream_resumes_with_last_event_id_after_the_server_is_killed(
    live_asgi, event_writer, live_org
):
    before = event_writer.events(live_org.id, 3)
    with Stream(live_asgi, live_org.api_key, params={"after": before[0]}) as stream:
        seen = stream.events(2)
        live_asgi.stop(kill=True)  # SIGKILL mid-stream: no goodbye
        with pytest.raises(Exception):  # EOF or a broken connection, either way
            stream.events(1, within=5)
    while_down = event_writer.events(live_org.id, 3)
    live_asgi.start()
    with Stream(live_asgi, live_org.api_key, headers={"Last-Event-ID": seen[-1].id}) as stream:
        caught_up = stream.events(3)
        after = event_writer.events(live_org.id, 2)
        live = stream.events(2)
    received = [frame.id for frame in seen + caught_up + live]
    assert received == before[1:] + while_down + after
    assert len(set(received)) == len(received)


def test_events_and_inbox_id_choose_what_the_stream_carries(live_asgi, event_writer, two_inboxes):
    org, a, b = two_inboxes["org"], two_inboxes["a"], two_inboxes["b"]
    start = event_writer.events(org.id, 1)[0]
    backlog = event_writer.events(org.id, 2, event_type="message.received", inbox_id=a)
    event_writer.events(org.id, 1, event_type="message.received", inbox_id=b)
    event_writer.events(org.id, 1, event_type="message.sent", inbox_id=a)
    params = {"after": start, "events": "message.received,thread.updated", "inboxId": a}
    with Stream(live_asgi, org.api_key, params=params) as stream:
        caught_up = stream.events(2)
        event_writer.events(org.id, 1, event_type="message.received", inbox_id=b)
        event_writer.events(org.id, 1, event_type="inbox.updated", inbox_id=a)
        live = event_writer.events(org.id, 1, event_type="thread.updated", inbox_id=a)
        arrived = stream.events(1)
    assert [frame.id for frame in caught_up] == backlog
    assert [frame.id for frame in arrived] == live
    assert arrived[0].event == "thread.updated"


def test_a_key_limited_to_some_inboxes_sees_only_their_events(live_asgi, event_writer, two_inboxes):
    org, a, b = two_inboxes["org"], two_inboxes["a"], two_inboxes["b"]
    start = event_writer.events(org.id, 1, inbox_id=a)[0]
    event_writer.events(org.id, 1, inbox_id=b)
    event_writer.events(org.id, 1)  # the organization's own: not about inbox A
    mine = event_writer.events(org.id, 1, inbox_id=a)
    with Stream(live_asgi, two_inboxes["limited"], params={"after": start}) as stream:
        caught_up = stream.events(1)
        event_writer.events(org.id, 2, inbox_id=b)
        event_writer.events(org.id, 1)
        live = event_writer.events(org.id, 1, inbox_id=a)
        arrived = stream.events(1)
    assert [frame.id for frame in caught_up] == mine
    assert [frame.id for frame in arrived] == live
    assert {frame.envelope["inboxId"] for frame in caught_up + arrived} == {a}


BAD_REQUESTS = {
    "no key": (None, {}, {}, 401, "unauthorized"),
    "unknown key": ("sk_" + "x" * 40, {}, {}, 401, "unauthorized"),
    "key without events:read": ("unscoped", {}, {}, 403, "forbidden"),
    "unknown event name": ("key", {"events": "message.received,message.exploded"}, {}, 400, "unknown_event"),
    "another organization's inbox": ("key", {"inboxId": "other_inbox"}, {}, 404, "inbox_not_found"),
    "no such inbox": ("key", {"inboxId": "inbox_nope"}, {}, 404, "inbox_not_found"),
    "inbox outside a limited key's": ("limited", {"inboxId": "b"}, {}, 404, "inbox_not_found"),
    "garbage last-event-id": ("key", {}, {"Last-Event-ID": "'; DROP TABLE--"}, 400, "validation_error"),
    "garbage after": ("key", {"after": "evt_nope"}, {}, 400, "validation_error"),
    "another organization's event": ("key", {}, {"Last-Event-ID": "other_event"}, 404, "event_not_found"),
    "another organization's event as after": ("key", {"after": "other_event"}, {}, 404, "event_not_found"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_a_bad_stream_request_is_a_json_error_before_any_stream_byte(live_asgi, two_inboxes, case):
    key, params, headers, status, code = BAD_REQUESTS[case]
    named = {"key": two_inboxes["org"].api_key, **two_inboxes}
    key = named.get(key, key) if key else None
    params = {name: named.get(value, value) for name, value in params.items()}
    headers = {name: named.get(value, value) for name, value in headers.items()}
    with Stream(live_asgi, key, params=params, headers=headers) as stream:
        response = stream.response
        response.read()
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == code
    assert body["error"]
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    if status == 403:
        assert body["requiredScope"] == "events:read"
        assert "events:read" in body["error"]
    if code == "unknown_event":
        assert "message.exploded" in body["error"]
        assert "message.received" not in body["error"]
    if code == "validation_error":
        assert list(body["fields"]) == ["Last-Event-ID" if headers else "after"]


def test_only_get_opens_a_stream(live_asgi, two_inboxes):
    response = api(live_asgi, two_inboxes["org"].api_key, "POST", "/v1/events/stream", json={})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json()["code"] == "method_not_allowed"


def test_the_rest_of_the_api_is_still_served_by_django_beside_the_stream(live_asgi, two_inboxes):
    org = two_inboxes["org"]
    listed = api(live_asgi, org.api_key, "GET", "/v1/events", params={"limit": 1})
    assert listed.status_code == 200
    assert listed.json()[0]["organizationId"] == org.id
