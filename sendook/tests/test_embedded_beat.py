"""`make run` on the embedded defaults has no Celery beat: the ASGI process runs the sweeps."""

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta

from celery.schedules import crontab, schedule

from sendook.embedded_beat import interval_of


def _api(server, key, method, path, body=None):
    request = urllib.request.Request(
        server.url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_a_scheduled_send_goes_out_with_no_worker_and_no_beat(live_asgi):
    org = live_asgi.new_org()
    sender = _api(live_asgi, org.api_key, "POST", "/v1/inboxes", {"name": "Later"})
    desk = _api(live_asgi, org.api_key, "POST", "/v1/inboxes", {"name": "Desk"})
    send_at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
    sent = _api(
        live_asgi,
        org.api_key,
        "POST",
        f"/v1/inboxes/{sender['id']}/messages/send",
        {"to": [desk["email"]], "subject": "Tomorrow's agenda", "text": "hi", "sendAt": send_at},
    )
    assert sent["status"] == "scheduled"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        received = _api(live_asgi, org.api_key, "GET", f"/v1/inboxes/{desk['id']}/messages")
        if received:
            break
        time.sleep(0.3)
    assert [m["subject"] for m in received] == ["Tomorrow's agenda"]
    after = _api(live_asgi, org.api_key, "GET", f"/v1/inboxes/{sender['id']}/messages/{sent['id']}")
    assert after["status"] in ("sent", "delivered")


def test_beat_entries_are_kept_by_their_interval_and_crontabs_are_left_to_celery_beat():
    assert interval_of(30) == 30.0
    assert interval_of(timedelta(minutes=2)) == 120.0
    assert interval_of(schedule(run_every=timedelta(seconds=7))) == 7.0
    assert interval_of(crontab(minute=0)) is None
