"""Send-path benchmark: prints accepted sends/s and worker sends/s, each against a bare baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sendook_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/3 CACHE_URL=redis://127.0.0.1:6379/2 \\
    .venv/bin/python bench/send.py [--requests 400] [--messages 400]

1. API: POST /v1/inboxes/{id}/messages/send through the whole Django/DRF stack (auth, rate
   limits, validation, the service's transaction, enqueue on commit) vs a bare Django view doing
   the same inserts and enqueue (bench/bare_urls.py). Both in-process through Django's test
   client, so neither pays for HTTP parsing.
2. Worker: a real `celery -A sendook worker` (concurrency 2) sending through Anymail's SES backend
   to moto's SES server, vs a bare loop (same number of processes) building the same MIME with
   the stdlib and calling the same SES v2 SendEmail endpoint with boto3.
The database named by DATABASE_URL is migrated and written to: do not point it at real data.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sendook_bench")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/3")
os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/2")
os.environ.setdefault("SENDOOK_SEND_RATE_LIMIT", "100000000/h")
os.environ.setdefault("SENDOOK_DAILY_SEND_CAP", "100000000")
os.environ.setdefault("SENDOOK_API_RATE_LIMIT", "100000000/m")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sendook.settings")
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "2"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("moto_server did not start")


def ensure_database() -> None:
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        return
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
        ).fetchone():
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


def purge_broker() -> None:
    import redis

    redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).flushdb()


def timed(label: str, count: int, fn) -> float:
    started = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - started
    rate = count / elapsed
    print(f"  {label:<52} {count:>5} in {elapsed:6.2f}s = {rate:8.1f}/s", flush=True)
    return rate


def bench_api(requests: int) -> tuple[float, float]:
    from django.conf import settings
    from django.test import Client

    from inboxes.services import create_api_key, create_inbox, create_organization

    settings.ROOT_URLCONF = "bench.bare_urls"
    organization = create_organization(name=f"bench-{time.time_ns()}")[0]
    secret = create_api_key(organization, name="bench").secret
    inbox = create_inbox(organization, name="Bench")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = {
        "to": ["Alice <alice@example.com>"],
        "subject": "Benchmark",
        "text": "Hello from the benchmark.",
    }

    def run(path: str, count: int) -> float:
        started = time.perf_counter()
        for _ in range(count):
            response = client.post(path, body, content_type="application/json")
            assert response.status_code == 202, response.content
        return time.perf_counter() - started

    api_path, bare_path = (
        f"/v1/inboxes/{inbox.public_id}/messages/send",
        f"/bare/{inbox.public_id}/send",
    )
    # The same send from an inbox whose policy is evaluated (approval: first_contact) and that
    # has written to Alice before (a warm inbox): the send goes straight out.
    from inboxes.models import Inbox
    from messages.services.correspondents import remember_correspondents

    policy_inbox = create_inbox(organization, name="Bench policy")
    Inbox.objects.filter(pk=policy_inbox.pk).update(send_approval="first_contact")
    remember_correspondents(policy_inbox.pk, ["alice@example.com"])
    policy_path = f"/v1/inboxes/{policy_inbox.public_id}/messages/send"
    check = client.post(policy_path, body, content_type="application/json")
    assert check.json()["status"] == "queued", check.content
    run(api_path, 20)  # warm-up: imports, connections
    run(bare_path, 20)
    run(policy_path, 20)
    # Alternate in small batches, so load from anything else on the machine hits all alike.
    # The third variant turns the per-organization rate limits off, to show their share.
    api_time = bare_time = unlimited_time = policy_time = 0.0
    batch = 25
    for _ in range(max(1, requests // batch)):
        bare_time += run(bare_path, batch)
        api_time += run(api_path, batch)
        policy_time += run(policy_path, batch)
        settings.RATELIMIT_ENABLE = False
        unlimited_time += run(api_path, batch)
        settings.RATELIMIT_ENABLE = True
    done = max(1, requests // batch) * batch
    bare_rate, api_rate = done / bare_time, done / api_time
    print(
        f"  {'bare view (inserts + enqueue)':<52} {done:>5} in {bare_time:6.2f}s = {bare_rate:8.1f}/s"
    )
    print(
        f"  {'POST /v1/inboxes/{id}/messages/send':<52} {done:>5} in {api_time:6.2f}s = {api_rate:8.1f}/s"
    )
    print(
        f"  {'  same, send policy first_contact (warm inbox)':<52} {done:>5} in {policy_time:6.2f}s = {done / policy_time:8.1f}/s"
    )
    print(
        f"  {'  same, rate limits off (RATELIMIT_ENABLE=False)':<52} {done:>5} in {unlimited_time:6.2f}s = {done / unlimited_time:8.1f}/s"
    )
    purge_broker()
    return api_rate, bare_rate


def _bare_sender(args: tuple[str, int, int, str]) -> None:
    import boto3

    moto_url, start, count, from_domain = args
    client = boto3.client("sesv2", region_name="us-east-1", endpoint_url=moto_url)
    for index in range(start, start + count):
        mime = EmailMessage(policy=SMTP.clone(cte_type="7bit"))
        mime["From"] = Address(display_name="Bench", addr_spec=f"bench@{from_domain}")
        mime["To"] = f"r{index}@example.com"
        mime["Subject"] = "Benchmark"
        mime["Date"] = format_datetime(
            __import__("datetime").datetime.now(__import__("datetime").UTC)
        )
        mime["Message-ID"] = f"<bare-{index}@{from_domain}>"
        mime.set_content("Hello from the benchmark.")
        client.send_email(
            Destination={"ToAddresses": [f"r{index}@example.com"]},
            Content={"Raw": {"Data": mime.as_bytes()}},
        )


def bench_worker(messages: int, moto_url: str) -> tuple[float, float]:
    import boto3
    from django.conf import settings
    from django.db import transaction

    from inboxes.services import create_inbox, create_organization
    from messages.models import Message
    from messages.services.send import send_message

    domain = settings.SENDOOK_DEFAULT_DOMAIN
    boto3.client("ses", region_name="us-east-1", endpoint_url=moto_url).verify_domain_identity(
        Domain=domain
    )
    boto3.client("ses", region_name="us-east-1", endpoint_url=moto_url).verify_email_identity(
        EmailAddress=domain
    )

    per_process = messages // CONCURRENCY
    with multiprocessing.get_context("spawn").Pool(CONCURRENCY) as pool:
        pool.map(
            _bare_sender, [(moto_url, 10**6 + i * 10, 5, domain) for i in range(CONCURRENCY)]
        )  # warm-up
        bare_rate = timed(
            f"bare loop: stdlib MIME + boto3 SendEmail ({CONCURRENCY} procs)",
            per_process * CONCURRENCY,
            lambda: pool.map(
                _bare_sender,
                [(moto_url, i * per_process, per_process, domain) for i in range(CONCURRENCY)],
            ),
        )

    organization = create_organization(name=f"bench-worker-{time.time_ns()}")[0]
    inbox = create_inbox(organization, name="Bench")
    purge_broker()
    env = {
        **os.environ,
        "EMAIL_BACKEND": "anymail.backends.amazon_ses.EmailBackend",
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_REGION": "us-east-1",
        "LOG_LEVEL": "WARNING",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "sendook",
            "worker",
            "-l",
            "warning",
            "--concurrency",
            str(CONCURRENCY),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Warm-up batch: the worker's pool processes import Django and open connections.
        with transaction.atomic():
            warm = [
                send_message(inbox, to=["w@example.com"], subject="warm", text="x").pk
                for _ in range(10)
            ]
        wait_sent(Message, warm, 120)

        with transaction.atomic():
            ids = [
                send_message(
                    inbox,
                    to=[f"r{i}@example.com"],
                    subject="Benchmark",
                    text="Hello from the benchmark.",
                ).pk
                for i in range(messages)
            ]
        # Timing starts when the burst is committed and enqueued, ends when the last is sent.
        worker_rate = timed(
            f"celery worker -> Anymail SES -> moto ({CONCURRENCY} procs)",
            messages,
            lambda: wait_sent(Message, ids, 600),
        )
        failed = Message.objects.filter(pk__in=ids).exclude(status="sent").count()
        if failed:
            print(f"  WARNING: {failed} messages not sent")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    return worker_rate, bare_rate


def wait_sent(Message, ids, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while Message.objects.filter(pk__in=ids, status="queued").exists():
        if time.monotonic() > deadline:
            raise RuntimeError("worker did not finish")
        time.sleep(0.05)


def run(
    requests: int = 400,
    messages: int = 400,
    only: str | None = None,
    concurrency: int = CONCURRENCY,
) -> list[dict]:
    """Both benchmarks (or `only` one); prints as it goes and returns the figures as data."""
    globals()["CONCURRENCY"] = concurrency
    # Stopped by bench/run.py's time limit: still run the `finally`s that stop the worker and moto.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    import django

    django.setup()
    ensure_database()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    purge_broker()
    moto, moto_url = start_moto()
    results: list[dict] = []
    try:
        if only != "worker":
            print("API: accepted sends per second (in-process, PostgreSQL + Redis broker)")
            api_rate, bare_api = bench_api(requests)
            print(f"  ratio API / bare = {api_rate / bare_api:.2f}x  (target >= 0.6x)")
            results.append(
                figure(
                    "send: POST …/messages/send accepted (sends/s, in-process)",
                    api_rate,
                    bare_api,
                    0.6,
                    "sends/s",
                )
            )
        if only != "api":
            print("Worker: sends per second to the local SES endpoint (moto)")
            worker_rate, bare_worker = bench_worker(messages, moto_url)
            print(
                f"  ratio worker / bare = {worker_rate / bare_worker:.2f}x  (target >= 0.5x and >= 100/s)"
            )
            row = figure(
                f"send: Celery worker -> Anymail SES -> moto ({CONCURRENCY} procs, sends/s)",
                worker_rate,
                bare_worker,
                0.5,
                "sends/s",
            )
            row["target"] = ">= 0.5x and >= 100/s"
            row["pass"] = row["pass"] and worker_rate >= 100
            results.append(row)
    finally:
        moto.terminate()
        moto.wait(timeout=10)
    return results


def figure(name: str, value: float, baseline: float, target: float, unit: str) -> dict:
    ratio = value / baseline
    return {
        "name": name,
        "figure": round(value, 1),
        "baseline": round(baseline, 1),
        "ratio": round(ratio, 3),
        "target": f">= {target}x",
        "pass": ratio >= target,
        "unit": unit,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--only", choices=["api", "worker"])
    parser.add_argument(
        "--concurrency",
        type=int,
        default=CONCURRENCY,
        help="worker processes, and bare-loop processes",
    )
    parser.add_argument("--json", help="also write the results (a JSON list) to this file")
    args = parser.parse_args()
    results = run(args.requests, args.messages, args.only, args.concurrency)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
