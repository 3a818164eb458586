"""The stream's limits on the live server, restarted once for this module with short ones: two
streams per organization, a one-second heartbeat, a four-second idle timeout, five events held
for a client that does not read, polls every 0.2 s without Redis."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from sendook.events.tests.live import Stream, api, server_env

TIGHT = {
    "SENDOOK_STREAM_MAX_PER_ORG": "2",
    "SENDOOK_STREAM_HEARTBEAT_SECONDS": "1",
    "SENDOOK_STREAM_IDLE_SECONDS": "4",
    "SENDOOK_STREAM_BUFFER_EVENTS": "5",
    "SENDOOK_STREAM_POLL_SECONDS": "0.2",
}


@pytest.fixture(scope="module")
def tight(asgi_server):
    with server_env(asgi_server, TIGHT) as server:
        yield server


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _a_client_that_never_reads(server, writer) -> tuple[int, int]:
    """Opens a stream on a tiny socket window, never reads while 6 MB of events are written,
    waits for the server to cut it off, then drains it to the end: (written, received)."""
    org = writer.new_org()
    log = server.workdir / "uvicorn.log"
    mark = len(log.read_bytes())
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(("127.0.0.1", server.port))
    client.sendall(
        b"GET /v1/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer " + org.api_key.encode() + b"\r\n\r\n"
    )
    head = b""
    while b"retry: 3000" not in head:
        head += client.recv(1024)
    assert head.startswith(b"HTTP/1.1 200")
    written = sum(len(writer.events(org.id, 30, pad=64 * 1024, delay=0.01)) for _ in range(3))
    deadline = time.monotonic() + 20
    while b"cut off" not in log.read_bytes()[mark:]:
        assert time.monotonic() < deadline, server.log_tail()
        time.sleep(0.2)
    # The server hung up: reading now drains what the sockets held, then the end.
    client.settimeout(15)
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    client.close()
    return written, received.count(b"\nevent: inbox.updated\n")


def test_a_client_that_never_reads_is_cut_off_and_its_events_are_not_kept(tight, event_writer):
    written, received = _a_client_that_never_reads(tight, event_writer)
    assert 0 < received < written
    # Once the server's memory holds what one such client costs, more of them add nothing:
    # what each was not sent is dropped with it.
    before = _rss(tight.process.pid)
    for _ in range(2):
        written, received = _a_client_that_never_reads(tight, event_writer)
        assert 0 < received < written
    grown = _rss(tight.process.pid) - before
    assert grown < 4 * 2**20, f"the server grew by {grown / 2**20:.1f} MB"


def test_past_the_per_organization_limit_a_stream_is_refused_with_429(tight, event_writer):
    org, other = event_writer.new_org(), event_writer.new_org()
    with Stream(tight, org.api_key) as one, Stream(tight, org.api_key) as two:
        assert one.frame().retry == two.frame().retry == 3000
        with Stream(tight, org.api_key) as three:
            refused = three.response
            refused.read()
        with Stream(tight, other.api_key) as elsewhere:  # the limit is per organization
            assert elsewhere.response.status_code == 200
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/json"
    assert refused.headers["retry-after"] == "5"
    assert refused.json()["code"] == "too_many_streams"
    assert "2 open event streams" in refused.json()["error"]
    # Both closed: their slots are free again at once.
    with Stream(tight, org.api_key) as again, Stream(tight, org.api_key) as twice:
        assert again.response.status_code == twice.response.status_code == 200


def test_a_heartbeat_comment_comes_every_heartbeat_interval(tight, event_writer):
    org = event_writer.new_org()
    with Stream(tight, org.api_key, read=3) as stream:
        assert stream.frame().retry == 3000
        beats = []
        while len(beats) < 2:
            frame = stream.frame()
            if "heartbeat" in frame.comments:
                beats.append(time.monotonic())
    assert 0.5 < beats[1] - beats[0] < 2.5


def test_a_stream_ends_at_the_next_heartbeat_once_its_key_is_revoked(tight, event_writer):
    org = event_writer.new_org()
    made = api(
        tight,
        org.api_key,
        "POST",
        "/v1/api_keys",
        json={"name": "agent", "scopes": ["events:read"]},
    ).json()
    with Stream(tight, made["key"], read=5) as stream:
        assert stream.frame().retry == 3000
        assert api(tight, org.api_key, "DELETE", f"/v1/api_keys/{made['id']}").status_code < 300
        revoked_at = time.monotonic()
        with pytest.raises(EOFError):
            while True:
                stream.frame()
    assert time.monotonic() - revoked_at < 4


def test_a_stream_without_events_for_the_idle_timeout_is_closed(tight, event_writer):
    org = event_writer.new_org()
    opened = time.monotonic()
    comments = []
    with Stream(tight, org.api_key, read=8) as stream, pytest.raises(EOFError):
        while True:
            comments += stream.frame().comments
    assert 3.5 < time.monotonic() - opened < 8
    assert "idle" in comments[-1] and "Last-Event-ID" in comments[-1]


def test_a_stopping_server_says_goodbye_to_its_streams_and_exits_without_waiting_for_them(
    live_asgi, live_org
):
    # A rolling deploy: SIGTERM. Every open stream gets a closing comment and a clean end (its
    # client reconnects elsewhere with Last-Event-ID) instead of the server waiting out its
    # graceful shutdown and then cutting the connections.
    with Stream(live_asgi, live_org.api_key) as one, Stream(live_asgi, live_org.api_key) as two:
        assert one.frame().retry == two.frame().retry == 3000
        logged = len(live_asgi.log_tail(10**9))
        started = time.monotonic()
        live_asgi.stop()  # SIGTERM
        stopped_in = time.monotonic() - started
        for stream in (one, two):
            comments = []
            with pytest.raises(EOFError):
                while True:
                    comments += stream.frame().comments
            assert comments == ["server stopping; reconnect with Last-Event-ID"]
    assert stopped_in < 1.5, f"the server took {stopped_in:.1f} s to stop"
    assert "CancelledError" not in live_asgi.log_tail(10**9)[logged:]
