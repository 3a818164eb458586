"""How the live server hears of events another process commits: Redis pub/sub when it has a
Redis URL, polling without one, polling meanwhile when Redis goes away, pub/sub again after."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from sendook.events.tests.live import EventWriter, Stream, api, free_port, server_env


def _arrival(stream: Stream, writer: EventWriter, org_id: str) -> float:
    """Seconds from an event's commit in the writer to its frame on the stream."""
    written = time.monotonic()
    event_id = writer.events(org_id, 1)[0]
    written = (written + time.monotonic()) / 2
    assert stream.events(1)[0].id == event_id
    return time.monotonic() - written


def test_without_redis_the_server_polls_and_still_delivers_every_event(asgi_server, event_writer):
    polling = {"SENDOOK_STREAM_URL": "", "SENDOOK_STREAM_POLL_SECONDS": "0.3"}
    with server_env(asgi_server, polling) as server:
        org = event_writer.new_org()
        with Stream(server, org.api_key) as stream:
            stream.frame()
            delays = [_arrival(stream, event_writer, org.id) for _ in range(3)]
            # Written through this very server (a REST call): it wakes its own hub at once.
            api(server, org.api_key, "POST", "/v1/inboxes", json={"name": "Here"})
            assert stream.events(1)[0].event == "inbox.created"
    assert max(delays) < 2


@pytest.mark.skipif(
    not os.environ.get("CACHE_URL", "").startswith("redis"), reason="the suite has no Redis"
)
def test_with_redis_an_event_arrives_through_pub_sub_long_before_any_poll(
    asgi_server, event_writer
):
    slow_polls = {"SENDOOK_STREAM_POLL_SECONDS": "30", "SENDOOK_STREAM_HEARTBEAT_SECONDS": "30"}
    with server_env(asgi_server, slow_polls) as server:
        org = event_writer.new_org()
        with Stream(server, org.api_key) as stream:
            stream.frame()
            delays = [_arrival(stream, event_writer, org.id) for _ in range(3)]
    assert max(delays) < 1.5  # a poll would take 30 s


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own, which it may kill."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(tmp_path)]

    class Private:
        url = f"redis://127.0.0.1:{port}/0"
        process: subprocess.Popen

        def start(self) -> None:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while (
                subprocess.run(
                    ["redis-cli", "-p", str(port), "ping"], capture_output=True
                ).stdout.strip()
                != b"PONG"
            ):
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

        def kill(self) -> None:
            self.process.kill()
            self.process.wait()

    private = Private()
    private.start()
    yield private
    private.kill()


def test_when_redis_goes_away_streams_keep_delivering_and_hear_pub_sub_again_after(
    asgi_server, event_writer, private_redis
):
    if shutil.which("redis-cli") is None:
        pytest.skip("redis-cli is not installed")
    env = {"SENDOOK_STREAM_URL": private_redis.url, "SENDOOK_STREAM_POLL_SECONDS": "0.5"}
    with server_env(asgi_server, env) as server:
        writer = EventWriter(server)  # it announces on the private Redis too
        try:
            org = writer.new_org()
            with Stream(server, org.api_key) as stream:
                stream.frame()
                assert _arrival(stream, writer, org.id) < 1.5
                log = server.workdir / "uvicorn.log"
                mark = len(log.read_bytes())
                private_redis.kill()
                # Announcing fails quietly (the write succeeds); the server polls meanwhile.
                assert _arrival(stream, writer, org.id) < 3
                assert _arrival(stream, writer, org.id) < 3
                private_redis.start()
                deadline = time.monotonic() + 10
                while b"listening on Redis channel" not in log.read_bytes()[mark:]:
                    assert time.monotonic() < deadline, server.log_tail()
                    time.sleep(0.1)
                assert _arrival(stream, writer, org.id) < 1.5
                assert b"Redis pub/sub lost" in log.read_bytes()[mark:]
        finally:
            writer.close()
