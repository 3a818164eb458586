import json
import threading
import time

import pytest

from webhooks import signing
from webhooks.http import DeliveryResult, Poster
from webhooks.tests.receivers import (
    big_response,
    drop_reused_connections,
    fail_first,
    free_port,
    hang,
    ok,
    receiver,
    redirect,
    self_signed_tls,
    status,
    trickle,
)

SECRET = signing.generate_secret()
BODY = json.dumps({"id": "evt_1", "event": "message.received", "payload": {}}).encode()


def deliver(url: str, *, poster: Poster | None = None, **options) -> DeliveryResult:
    headers = signing.headers(SECRET, msg_id="evt_1", timestamp=int(time.time()), body=BODY)
    options.setdefault("allow_private", True)
    options.setdefault("connect_timeout", 1.0)
    options.setdefault("total_timeout", 1.0)
    if poster is None:
        with Poster() as fresh:
            return fresh.post(url, body=BODY, headers=headers, **options)
    return poster.post(url, body=BODY, headers=headers, **options)


def test_receiver_answering_200_is_a_successful_signed_delivery():
    with receiver(ok(b'{"received": true}'), secret=SECRET) as hook:
        result = deliver(hook.url)
    assert result.ok
    assert result.status_code == 200
    assert result.error == ""
    assert result.response_excerpt == '{"received": true}'
    assert 0 <= result.duration_ms < 1000
    [request] = hook.requests
    assert request.verified, request.verify_error
    assert request.method == "POST"
    assert request.path == "/hooks/sendook"
    assert request.body == BODY
    assert request.headers["host"] == f"127.0.0.1:{hook.port}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("Sendook-Webhooks/")


def test_receiver_answering_500_is_a_failure_with_its_status():
    with receiver(status(500, b"boom"), secret=SECRET) as hook:
        result = deliver(hook.url)
    assert not result.ok
    assert result.status_code == 500
    assert result.error == "HTTP 500 Internal Server Error"
    assert result.response_excerpt == "boom"
    assert len(hook.requests) == 1


def test_receiver_answering_410_reports_410():
    with receiver(status(410), secret=SECRET) as hook:
        result = deliver(hook.url)
    assert (result.ok, result.status_code) == (False, 410)


def test_fail_first_receiver_fails_then_succeeds():
    with receiver(fail_first(2), secret=SECRET) as hook:
        results = [deliver(hook.url) for _ in range(3)]
    assert [r.status_code for r in results] == [500, 500, 200]
    assert [r.ok for r in results] == [False, False, True]


def test_receiver_that_never_answers_times_out_at_the_total_timeout():
    with receiver(hang(), secret=SECRET) as hook:
        result = deliver(hook.url, total_timeout=1.0)
    assert not result.ok
    assert result.status_code is None
    assert result.error == "timeout"
    assert 900 <= result.duration_ms < 1600
    assert len(hook.requests) == 1


@pytest.mark.parametrize("phase", ["body", "headers"])
def test_receiver_trickling_bytes_forever_still_ends_at_the_total_timeout(phase):
    with receiver(trickle(interval=0.2, phase=phase), secret=SECRET) as hook:
        result = deliver(hook.url, total_timeout=1.0)
    assert not result.ok
    assert result.error == "timeout"
    assert 900 <= result.duration_ms < 1600
    assert result.status_code == (200 if phase == "body" else None)


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_redirect_is_reported_and_not_followed(code):
    with receiver(ok(), secret=SECRET) as target:
        with receiver(redirect(target.url, code), secret=SECRET) as hook:
            result = deliver(hook.url)
        assert target.requests == []
        assert target.connections == 0
    assert not result.ok
    assert result.status_code == code
    assert result.error == f"redirect not followed ({code} to {target.url})"


def test_huge_response_is_read_only_up_to_the_cap():
    with receiver(big_response(10 * 1024 * 1024), secret=SECRET) as hook:
        started = time.monotonic()
        result = deliver(hook.url, max_response_bytes=65536, total_timeout=5.0)
        elapsed = time.monotonic() - started
    assert result.ok
    assert result.status_code == 200
    assert result.response_excerpt == "x" * 2048
    assert elapsed < 2.0


def test_connection_refused_is_reported():
    result = deliver(f"http://127.0.0.1:{free_port()}/hook")
    assert not result.ok
    assert result.status_code is None
    assert result.error == "connection refused"


def test_loopback_url_is_refused_before_any_connection_without_allow_private():
    with receiver(ok(), secret=SECRET) as hook:
        result = deliver(hook.url, allow_private=False)
        assert hook.connections == 0
        assert hook.requests == []
    assert not result.ok
    assert result.status_code is None
    assert result.error.startswith("unsafe url: 127.0.0.1 is a loopback address")


def test_name_is_connected_to_through_the_vetted_address_with_its_own_host_header():
    resolutions = []

    def resolver(host: str, port: int) -> list[str]:
        resolutions.append(host)
        return ["127.0.0.1"]

    with receiver(ok(), secret=SECRET, url_host="hooks.customer.test") as hook:
        result = deliver(hook.url, resolver=resolver)
    assert result.ok, result.error
    assert resolutions == ["hooks.customer.test"]
    assert hook.requests[0].headers["host"] == f"hooks.customer.test:{hook.port}"


def test_name_resolving_to_private_address_is_refused_before_connecting():
    with receiver(ok(), secret=SECRET, url_host="hooks.customer.test") as hook:
        result = deliver(hook.url, allow_private=False, resolver=lambda host, port: ["127.0.0.1"])
        assert hook.connections == 0
    assert result.error.startswith("unsafe url: ")
    assert "hooks.customer.test" in result.error


def test_fifty_posts_through_one_poster_reuse_one_connection():
    with receiver(ok(), secret=SECRET) as hook, Poster() as poster:
        results = [deliver(hook.url, poster=poster) for _ in range(50)]
        assert all(r.ok for r in results), {r.error for r in results}
        assert len(hook.requests) == 50
        assert all(r.verified for r in hook.requests)
        assert hook.connections == 1


def test_poster_shared_by_threads_delivers_everything_over_few_connections():
    with receiver(ok(), secret=SECRET) as hook, Poster(max_idle_per_key=4) as poster:
        results: list[DeliveryResult] = []

        def worker() -> None:
            for _ in range(10):
                results.append(deliver(hook.url, poster=poster, total_timeout=5.0))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 40
        assert all(r.ok for r in results), {r.error for r in results}
        assert len(hook.requests) == 40
        assert hook.connections <= 8


def test_connection_closed_by_the_receiver_while_idle_is_replaced_transparently():
    with Poster() as poster:
        with receiver(ok(), secret=SECRET) as first:
            assert deliver(first.url, poster=poster).ok
        # The receiver restarted on the same port: the pooled connection is dead.
        with receiver(ok(), secret=SECRET, port=first.port) as second:
            result = deliver(second.url, poster=poster)
            assert result.ok, result.error
            assert second.connections == 1
        assert deliver(first.url, poster=poster).error == "connection refused"


def test_reused_connection_dropped_by_the_receiver_is_retried_once_on_a_fresh_one():
    with receiver(drop_reused_connections(), secret=SECRET) as hook, Poster() as poster:
        results = [deliver(hook.url, poster=poster) for _ in range(3)]
        assert [r.ok for r in results] == [True, True, True], [r.error for r in results]
        assert hook.connections == 3
        assert len(hook.requests) == 5  # requests 2 and 3 each first hit a dropped connection


def test_fresh_connection_dropped_without_an_answer_is_not_retried():
    with receiver(hang(), secret=SECRET) as hook:
        hook.stopping.set()  # hang() now hangs up at once, without answering
        result = deliver(hook.url)
        assert hook.connections == 1
    assert result.error == "connection closed without a response"


def test_error_status_responses_keep_the_connection_alive():
    with receiver(status(503, b"busy"), secret=SECRET) as hook, Poster() as poster:
        results = [deliver(hook.url, poster=poster) for _ in range(5)]
        assert [r.status_code for r in results] == [503] * 5
        assert hook.connections == 1


def test_https_uses_the_url_host_for_sni_and_certificate_checks():
    pytest.importorskip("cryptography")
    server_tls, client_tls = self_signed_tls("hooks.customer.test")
    with receiver(ok(), secret=SECRET, tls=server_tls, url_host="hooks.customer.test") as hook:
        with Poster(ssl_context=client_tls) as poster:
            results = [
                deliver(hook.url, poster=poster, resolver=lambda host, port: ["127.0.0.1"])
                for _ in range(3)
            ]
    assert all(r.ok for r in results), [r.error for r in results]
    assert hook.connections == 1
    assert hook.requests[0].headers["host"] == f"hooks.customer.test:{hook.port}"


def test_https_certificate_for_another_name_is_refused():
    pytest.importorskip("cryptography")
    server_tls, client_tls = self_signed_tls("someone-else.test")
    with receiver(ok(), secret=SECRET, tls=server_tls, url_host="hooks.customer.test") as hook:
        with Poster(ssl_context=client_tls) as poster:
            result = deliver(hook.url, poster=poster, resolver=lambda host, port: ["127.0.0.1"])
        assert hook.requests == []
    assert not result.ok
    assert result.error.startswith("tls certificate not valid for hooks.customer.test")


def test_post_never_raises_on_a_malformed_url():
    result = Poster().post("http://[::1", body=b"{}", headers={})
    assert not result.ok
    assert result.error.startswith("unsafe url: ")
