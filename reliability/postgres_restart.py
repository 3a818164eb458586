"""Reliability 3: PostgreSQL restarted under send load, clients retrying with their Idempotency-Key.

The script starts its own PostgreSQL cluster (reliability.common.own_postgres: loopback, random
port, never the shared server), its own redis-server (broker and cache), moto's SES, the app
under gunicorn (2 workers) and a real Celery worker (concurrency 2) sending through Anymail's
SES backend. The periodic sweep (requeue_stuck_messages, beat's job) runs from this process every
2 s with SENDOOK_REQUEUE_AFTER_SECONDS=10.

Eight client threads each send --per-client messages over HTTP to
POST /v1/inboxes/{id}/messages/send, every message with its own Idempotency-Key and subject. On a
connection error, a timeout or a 5xx a client sends the same body with the same key again
(backoff 0.1 s doubling to 2 s, jittered) until it gets a 202 (first answer or replay), giving up
on a key after --give-up seconds. During the load PostgreSQL goes down twice, --down seconds
each: `pg_ctl stop -m immediate` (a crash: recovery on start) and later `pg_ctl stop -m fast`,
each followed by `pg_ctl start` (what `pg_ctl restart -m …` does, with the downtime made long
enough for requests and tasks to meet it).

Figures: keys; duplicates (keys with more than one message: target 0); missing (keys answered
202 whose message does not exist, has another id or never became terminal, plus keys the client
gave up on, plus messages recorded sent that SES never received: target 0); SES duplicates
outside the provider-call window (target 0) and inside it (reported); API answers 5xx other than
a JSON 503 (target 0); the time from PostgreSQL's last start until every message is terminal.

The provider-call window is measured: just before each start (database down, so no send can be
recorded) the Message-IDs moto has received are noted; a noted message whose `sent` was
committed only after that start (or never) had reached SES while its record was lost with the
connection, and only such a message may legitimately go out twice.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from reliability import common

TERMINAL = {"sent", "delivered", "bounced", "complained", "rejected", "failed"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=50)
    parser.add_argument(
        "--interval", type=float, default=0.4, help="seconds each client waits between messages"
    )
    parser.add_argument("--first-restart", type=float, default=5, help="seconds into the load")
    parser.add_argument(
        "--between", type=float, default=7, help="seconds of database uptime between the restarts"
    )
    parser.add_argument(
        "--down", type=float, default=4, help="seconds the database stays down each time"
    )
    parser.add_argument(
        "--give-up", type=float, default=90, help="seconds a client keeps retrying one key"
    )
    parser.add_argument(
        "--timeout", type=float, default=120, help="drain deadline after the last restart"
    )
    args = parser.parse_args()
    with common.own_redis(), common.own_postgres() as cluster:
        return run(args, cluster)


class Load:
    """The client threads and what they saw."""

    def __init__(self, url: str, secret: str, args: argparse.Namespace) -> None:
        self.url, self.args = url, args
        self.headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        self.lock = threading.Lock()
        self.answers: collections.Counter[int] = collections.Counter()
        self.bad_5xx: list[str] = []  # 5xx other than a JSON 503
        self.accepted: dict[str, str] = {}  # key -> message id from the 202
        self.gave_up: dict[str, int] = {}  # key -> last status
        self.retried = 0
        self.run_id = time.time_ns()
        self.threads = [
            threading.Thread(target=self.client, args=(index,), daemon=True)
            for index in range(args.clients)
        ]

    def keys(self) -> list[str]:
        return [
            self.key(c, n) for c in range(self.args.clients) for n in range(self.args.per_client)
        ]

    def key(self, client: int, number: int) -> str:
        return f"pgr-{self.run_id}-{client}-{number}"

    def client(self, index: int) -> None:
        for number in range(self.args.per_client):
            key = self.key(index, number)
            # The subject carries the key so messages can be counted per key afterwards.
            body = json.dumps(
                {"to": [f"c{index}n{number}@example.com"], "subject": key, "text": "Hello."}
            ).encode()
            deadline = time.monotonic() + self.args.give_up
            attempt = 0
            while True:
                status, raw = common.post(
                    self.url, body, {**self.headers, "Idempotency-Key": key}, timeout=10
                )
                self.note(status, raw)
                if status == 202:
                    with self.lock:
                        self.accepted[key] = json.loads(raw)["id"]
                    break
                if (status != 0 and status < 500) or time.monotonic() > deadline:
                    with self.lock:
                        self.gave_up[key] = status
                    break
                with self.lock:
                    self.retried += 1
                time.sleep(min(2.0, 0.1 * 2**attempt) * random.uniform(0.5, 1.0))
                attempt += 1
            time.sleep(self.args.interval)

    def note(self, status: int, raw: bytes) -> None:
        with self.lock:
            self.answers[status] += 1
            if status >= 500 and not (status == 503 and _json_error(raw)):
                self.bad_5xx.append(f"{status} {raw[:200]!r}")

    def running(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)


def _json_error(raw: bytes) -> bool:
    try:
        return "code" in json.loads(raw)
    except ValueError:
        return False


def _healthy(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class Sweep:
    """beat's requeue_stuck_messages, every 2 s, from a thread of this process."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.failures = 0
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        from django.db import close_old_connections, connection

        from messages.tasks import requeue_stuck_messages

        while not self.done.wait(2):
            close_old_connections()  # what Celery does around every task beat enqueues
            try:
                requeue_stuck_messages()
            except Exception as exc:  # database down: beat's sweep would fail the same way
                self.failures += 1
                print(f"  sweep failed: {type(exc).__name__}", flush=True)
                connection.close()
        connection.close()


def run(args: argparse.Namespace, cluster: common.Postgres) -> int:
    common.configure(SENDOOK_REQUEUE_AFTER_SECONDS="10", SENDOOK_SEND_CLAIM_SECONDS="20")
    common.setup_django()
    from django.db import connection

    from inboxes.services import create_api_key, create_inbox, create_organization
    from messages.models import Message

    organization = create_organization(name=f"reliability-pgrestart-{time.time_ns()}")[0]
    secret = create_api_key(organization, name="reliability").secret
    inbox = create_inbox(organization, name="Restart")
    connection.close()  # this process's connection would not survive the restarts anyway
    tmp = Path(tempfile.mkdtemp(prefix="sendook-rel-"))
    with common.moto_server() as moto:
        env = common.worker_env(
            EMAIL_BACKEND="anymail.backends.amazon_ses.EmailBackend", AWS_ENDPOINT_URL=moto
        )
        worker = common.Worker(env, tmp / "worker.log")
        web = common.Gunicorn(env, tmp / "gunicorn.log", workers=2)
        sweep = Sweep()
        worker.start()
        web.start()
        # gunicorn binds before its workers have loaded the app: load starts once it answers.
        if not common.wait_until(lambda: _healthy(web.url), 60, 0.2):
            raise RuntimeError(
                "gunicorn never answered /health:\n" + (tmp / "gunicorn.log").read_text()[-3000:]
            )
        print(f"  logs in {tmp}", flush=True)
        try:
            load = Load(f"{web.url}/v1/inboxes/{inbox.public_id}/messages/send", secret, args)
            started = time.monotonic()
            for thread in load.threads:
                thread.start()
            sweep.thread.start()
            snapshots: list[tuple[set[str], datetime]] = []
            load_running_at_stop: list[bool] = []

            def outage(mode: str) -> None:
                retried_before = load.retried
                began = time.monotonic()
                load_running_at_stop.append(load.running())
                cluster.stop(mode)
                time.sleep(args.down)
                at_ses = set(common.sent_at_moto(moto))
                up_at = datetime.now(UTC)
                cluster.start()
                snapshots.append((at_ses, up_at))
                print(
                    f"  {mode} stop at {began - started:.1f}s, down {time.monotonic() - began:.1f}s; "
                    f"{len(load.accepted)} keys accepted so far, {load.retried - retried_before} retries "
                    f"during the outage",
                    flush=True,
                )

            time.sleep(args.first_restart)
            outage("immediate")
            time.sleep(args.between)
            outage("fast")
            last_up = time.monotonic()
            for thread in load.threads:
                thread.join(timeout=max(1, args.give_up + 30 - (time.monotonic() - last_up)))
            print(
                f"  load done {time.monotonic() - started:.1f}s after it began: answers {dict(load.answers)}, "
                f"{load.retried} retries, {len(load.gave_up)} keys given up",
                flush=True,
            )

            def unfinished() -> int:
                return Message.objects.filter(inbox=inbox).exclude(status__in=TERMINAL).count()

            deadline = last_up + args.timeout
            while time.monotonic() < deadline and unfinished():
                time.sleep(0.2)
            drained = not unfinished()
            drain_seconds = time.monotonic() - last_up
        finally:
            sweep.done.set()
            sweep.thread.join(timeout=10)
            web.stop()
            worker.stop()

        rows = list(
            Message.objects.filter(inbox=inbox).values_list(
                "subject", "public_id", "status", "message_id", "sent_at"
            )
        )
        at_ses = collections.Counter(common.sent_at_moto(moto))
    per_key = collections.defaultdict(list)
    for subject, public_id, status, _, _ in rows:
        per_key[subject].append((public_id, status))
    duplicates = sum(1 for messages in per_key.values() if len(messages) > 1)
    missing_keys = set(load.gave_up)
    for key, public_id in load.accepted.items():
        if [m for m in per_key.get(key, []) if m[0] == public_id and m[1] in TERMINAL] == []:
            missing_keys.add(key)
    not_at_ses = {mid for _, _, status, mid, _ in rows if status == "sent" and mid not in at_ses}
    missing = len(missing_keys) + len(not_at_ses)

    sent_at = {mid: (status, when) for _, _, status, mid, when in rows}
    window: set[str] = set()
    for noted, up_at in snapshots:
        for mid in noted:
            status, when = sent_at.get(mid, ("", None))
            if status != "sent" or when is None or when >= up_at:
                window.add(mid)
    ours = set(sent_at)
    duplicated = {mid: count - 1 for mid, count in at_ses.items() if count > 1 and mid in ours}
    inside = sum(count for mid, count in duplicated.items() if mid in window)
    outside = sum(count for mid, count in duplicated.items() if mid not in window)
    statuses = collections.Counter(status for _, _, status, _, _ in rows)
    print(
        f"  statuses {dict(statuses)}; messages in the provider-call window {len(window)}; "
        f"sweep failures {sweep.failures}",
        flush=True,
    )
    for line in load.bad_5xx[:5]:
        print(f"  non-503 5xx: {line}", flush=True)
    for key in sorted(missing_keys)[:5]:
        print(
            f"  missing {key}: answered {load.gave_up.get(key, 202)}, rows {per_key.get(key)}",
            flush=True,
        )
    keys = len(load.keys())
    ok = (
        duplicates == 0
        and missing == 0
        and outside == 0
        and inside == 0  # the claim is committed before the provider call: no window left
        and not load.bad_5xx
        and drained
        and len(snapshots) == 2
        and all(load_running_at_stop)
        and len(load.accepted) == keys
    )
    return common.figure(
        ok,
        keys=keys,
        accepted=len(load.accepted),
        duplicates=duplicates,
        missing=missing,
        ses_duplicates=outside,
        ses_duplicates_in_provider_window=inside,
        server_errors_not_503=len(load.bad_5xx),
        answered_503=load.answers.get(503, 0),
        connection_errors=load.answers.get(0, 0),
        retries=load.retried,
        restarts=len(snapshots),
        drain_seconds_after_restart=drain_seconds,
    )


if __name__ == "__main__":
    sys.exit(main())
