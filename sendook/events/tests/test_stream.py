"""GET /v1/events/stream against the real ASGI process (uvicorn), with a real SSE client."""

from __future__ import annotations

import pytest

from sendook.events.tests.live import Stream, write_events


@pytest.fixture
def live_org(live_asgi):
    return live_asgi.new_org()


def test_events_arrive_in_feed_order_with_their_ids(live_asgi, live_org):
    with Stream(live_asgi, live_org.api_key) as stream:
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert stream.frame().retry == 3000
        written = write_events(live_asgi, live_org.id, 5)
        frames = stream.events(5)
    assert [frame.id for frame in frames] == written
    assert [frame.event for frame in frames] == ["inbox.updated"] * 5
    assert [frame.envelope["id"] for frame in frames] == written
    assert [frame.envelope["payload"]["n"] for frame in frames] == [0, 1, 2, 3, 4]
