"""HTTP benchmarks: the product under gunicorn (2 workers) driven by hey, against bare baselines.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sendook_bench CACHE_URL=redis://127.0.0.1:6379/2 \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/3 .venv/bin/python bench/http_load.py [--seconds 4]

What a client meets: real HTTP on loopback to `gunicorn bench.http_app:application -w 2`
(sync workers, as in deploy/entrypoint.sh), load from `hey` (Debian's package) with a fixed
duration and concurrency. The same server also serves the baselines (bench/http_app.py):
1. list: GET /v1/inboxes/{id}/messages?limit=50 vs a bare WSGI app with the same SQL and the same
   JSON (bench/listing.py, checked equal over HTTP first). Target >= 0.5x.
2. send: POST /v1/inboxes/{id}/messages/send vs the bare send view (inserts + enqueue on commit to
   the Redis broker; no worker runs, the queue is purged afterwards). Target >= 0.6x.
Product and baseline alternate in slices of --seconds each, --rounds times, so load from anything
else hits both alike; latency percentiles come from every request hey timed (its CSV output).
Any answer other than the expected status fails the run. The database is migrated and written to.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sendook_bench")
os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/2")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/3")
os.environ.setdefault("SENDOOK_API_RATE_LIMIT", "100000000/m")
os.environ.setdefault("SENDOOK_SEND_RATE_LIMIT", "100000000/h")
os.environ.setdefault("SENDOOK_DAILY_SEND_CAP", "100000000")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sendook.settings")

from bench.processes import free_port, stop_group  # noqa: E402

WORKERS = 2
BROKER_URL = os.environ["CELERY_BROKER_URL"]  # read now: importing bench.listing unsets it


def hey_path() -> str:
    found = shutil.which("hey")
    if found is None:
        sys.exit("hey not found: apt-get install -y hey (Debian's HTTP load generator)")
    return found


def start_gunicorn(port: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "bench.http_app:application",
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "false"},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).read()
            return process
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    stop_group(process)
    raise RuntimeError(f"gunicorn did not start: {log.read_text()[-2000:]}")


def fetch(url: str, secret: str, data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, headers={"Authorization": f"Bearer {secret}"})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, dict(response.headers), response.read()


def hey(
    url: str, secret: str, seconds: float, concurrency: int, body: Path | None
) -> list[tuple[float, int]]:
    """(latency seconds, status) of every request hey made in `seconds`."""
    command = [hey_path(), "-z", f"{seconds}s", "-c", str(concurrency), "-t", "30", "-o", "csv"]
    command += ["-H", f"Authorization: Bearer {secret}"]
    if body is not None:
        command += ["-m", "POST", "-T", "application/json", "-D", str(body)]
    result = subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:
        raise RuntimeError(f"hey failed: {result.stderr[-2000:]}")
    rows = csv.DictReader(io.StringIO(result.stdout))
    return [(float(row["response-time"]), int(row["status-code"])) for row in rows]


def percentiles(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "p50": round(cuts[49] * 1000, 2),
        "p95": round(cuts[94] * 1000, 2),
        "p99": round(cuts[98] * 1000, 2),
    }


def compare(
    name: str,
    urls: dict[str, str],
    secret: str,
    *,
    expected: int,
    seconds: float,
    rounds: int,
    concurrency: int,
    body: Path | None,
    target: float,
    unit: str,
) -> dict[str, Any]:
    samples: dict[str, list[tuple[float, int]]] = {"api": [], "bare": []}
    for side in ("api", "bare"):  # warm-up: imports and connections in both workers
        hey(urls[side], secret, 1, concurrency, body)
    for _ in range(rounds):
        for side in ("bare", "api"):
            samples[side] += hey(urls[side], secret, seconds, concurrency, body)
    rates = {}
    for side, rows in samples.items():
        wrong = [status for _latency, status in rows if status != expected]
        if wrong or not rows:
            raise RuntimeError(
                f"{name} {side}: {len(wrong)} of {len(rows)} answers were not {expected}: {sorted(set(wrong))}"
            )
        rates[side] = len(rows) / (seconds * rounds)
    ratio = rates["api"] / rates["bare"]
    api_latency = percentiles([latency for latency, _ in samples["api"]])
    return {
        "name": name,
        "figure": round(rates["api"], 1),
        "baseline": round(rates["bare"], 1),
        "ratio": round(ratio, 3),
        "target": f">= {target}x",
        "pass": ratio >= target,
        "unit": unit,
        **api_latency,
        "baseline_latency_ms": percentiles([latency for latency, _ in samples["bare"]]),
        "requests": len(samples["api"]),
        "baseline_requests": len(samples["bare"]),
        "concurrency": concurrency,
        "server": f"gunicorn, {WORKERS} sync workers",
    }


def run(
    messages: int = 500,
    seconds: float = 4,
    rounds: int = 3,
    concurrency: int = 4,
    verbose: bool = True,
) -> list[dict[str, Any]]:
    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.db import connection

    from bench.listing import generate
    from inboxes.services import create_api_key, create_inbox, create_organization

    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set DATABASE_URL.")
    call_command("migrate", verbosity=0)
    _org, inbox, list_secret = generate(messages)
    sender_org = create_organization(name=f"bench-http-send-{time.time_ns()}")[0]
    send_secret = create_api_key(sender_org, name="bench").secret
    send_inbox = create_inbox(sender_org, name="HTTP bench")
    with connection.cursor() as cursor:
        for table in ("mail_message", "mail_thread", "mail_attachment"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    connection.close()

    tmp = Path(tempfile.mkdtemp(prefix="sendook-bench-http-"))
    body = tmp / "send.json"
    body.write_text(
        json.dumps(
            {
                "to": ["Alice <alice@example.com>"],
                "subject": "Benchmark",
                "text": "Hello from the benchmark.",
            }
        )
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_gunicorn(port, tmp / "gunicorn.log")
    results = []
    try:
        list_path = f"/v1/inboxes/{inbox.public_id}/messages?limit=50"
        api_status, api_headers, api_body = fetch(base + list_path, list_secret)
        _status, bare_headers, bare_body = fetch(base + "/bare-list" + list_path, list_secret)
        assert api_status == 200 and len(json.loads(api_body)) == 50, api_body[:300]
        assert json.loads(api_body) == json.loads(bare_body), (
            "bare app JSON differs from the API's over HTTP"
        )
        assert api_headers.get("Link") == bare_headers.get("Link"), (
            api_headers.get("Link"),
            bare_headers.get("Link"),
        )
        results.append(
            compare(
                "list over HTTP: GET /v1/inboxes/{id}/messages?limit=50 (req/s, gunicorn + hey)",
                {"api": base + list_path, "bare": base + "/bare-list" + list_path},
                list_secret,
                expected=200,
                seconds=seconds,
                rounds=rounds,
                concurrency=concurrency,
                body=None,
                target=0.5,
                unit="req/s",
            )
        )
        results.append(
            compare(
                "send over HTTP: POST /v1/inboxes/{id}/messages/send (sends/s, gunicorn + hey)",
                {
                    "api": f"{base}/v1/inboxes/{send_inbox.public_id}/messages/send",
                    "bare": f"{base}/bare/{send_inbox.public_id}/send",
                },
                send_secret,
                expected=202,
                seconds=seconds,
                rounds=rounds,
                concurrency=concurrency,
                body=body,
                target=0.6,
                unit="sends/s",
            )
        )
    finally:
        stop_group(server, timeout=20)
        # Nobody consumes the sends' tasks here: drop them so they don't reach a later worker.
        redis.Redis.from_url(BROKER_URL).flushdb()
    if verbose:
        for row in results:
            print(f"{row['name']}")
            print(
                f"  baseline {row['baseline']:8.1f} {row['unit']}  p50 {row['baseline_latency_ms']['p50']} ms ({row['baseline_requests']} requests)"
            )
            print(
                f"  product  {row['figure']:8.1f} {row['unit']}  p50 {row['p50']} p95 {row['p95']} p99 {row['p99']} ms ({row['requests']} requests)"
            )
            print(f"  ratio {row['ratio']:.2f}x (target {row['target']})")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds per slice")
    parser.add_argument("--rounds", type=int, default=3, help="slices per side, alternating")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--json", help="also write the results (a JSON list) to this file")
    args = parser.parse_args()
    results = run(args.messages, args.seconds, args.rounds, args.concurrency)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
