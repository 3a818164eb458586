"""One benchmark run: every benchmark in bench/ with its bare baseline, one JSON file, one table.

    make bench                      # or: .venv/bin/python bench/run.py [--full] [--only list,send]

Starts what the benchmarks need: a private Redis on a free loopback port (cache in db 0, Celery
broker in db 1; BENCH_REDIS_URL=redis://host:port uses an existing one instead), and through the
scripts themselves the app under gunicorn with two workers driven by `hey` (http_load.py), a real
Celery worker and moto's server as the local SES endpoint (send.py), a local webhook receiver
(webhooks.py), one uvicorn process holding 1,000 event streams with their raw-socket clients
(stream.py). Each script generates its own deterministic data. PostgreSQL is DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/sendook_bench, created if missing, migrated and written to:
never point it at real data).

Each benchmark runs in its own process (each configures Django differently at import: eager or
brokered tasks, test database or not), calls the script's `run(...)` and hands its figures back
as JSON (`--json FILE`), under a time limit. Every script alternates its product path with its
bare baseline within the same process, so both see the same machine.

Writes var/bench/latest.json: a JSON list with one object per figure: "name", "figure",
"baseline", "ratio", "target", "pass", "unit", "p50"/"p95"/"p99" (ms) where latency is measured,
the script ("benchmark"), and the run's "git_revision", "versions" and "run" (start time, machine,
load average, duration). Keeps each script's output in var/bench/<name>.log and prints a table. Exit status 0 when every script ran (a figure short of its target is reported, not
fatal); 1 when a script failed or timed out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.processes import free_port, stop_group  # noqa: E402

OUT = ROOT / "var" / "bench"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/sendook_bench"

# name -> (script, arguments for the default run, arguments for --full, time limit in seconds)
BENCHMARKS: dict[str, tuple[str, list[str], list[str], int]] = {
    "send": ("send.py", ["--requests", "200", "--messages", "200"], [], 150),
    "inbound": ("inbound.py", ["--count", "200"], [], 90),
    "webhooks": ("webhooks.py", ["--count", "1000"], [], 60),
    "list": ("listing.py", ["--messages", "500", "--seconds", "8"], ["--seconds", "15"], 90),
    "http": (
        "http_load.py",
        ["--seconds", "4", "--rounds", "3"],
        ["--seconds", "8", "--rounds", "4"],
        120,
    ),
    "search": (
        "search.py",
        ["--messages", "10000", "--runs", "40", "--seconds", "3"],
        ["--messages", "100000", "--runs", "60", "--seconds", "5"],
        150,
    ),
    "ui": ("helpdesk.py", ["--threads", "10000", "--seconds", "4"], ["--seconds", "8"], 180),
    "stream": (
        "stream.py",
        ["--clients", "1000", "--seconds", "10", "--mails", "30"],
        ["--clients", "1000", "--seconds", "30", "--mails", "100"],
        360,
    ),
}


def start_redis() -> tuple[subprocess.Popen | None, str]:
    if os.environ.get("BENCH_REDIS_URL"):
        return None, os.environ["BENCH_REDIS_URL"].rstrip("/")
    server = shutil.which("redis-server")
    if server is None:
        sys.exit("redis-server not found: install Redis or set BENCH_REDIS_URL=redis://host:port")
    port = free_port()
    process = subprocess.Popen(
        [
            server,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            tempfile.gettempdir(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"redis://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    process.kill()
    sys.exit("redis-server did not start")


def ensure_database(url: str) -> str:
    """Creates the database if missing; returns PostgreSQL's version string."""
    from urllib.parse import urlparse

    import psycopg

    parts = urlparse(url)
    common = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
    }
    if parts.password:
        common["password"] = parts.password
    name = parts.path.lstrip("/")
    with psycopg.connect(dbname="postgres", autocommit=True, **common) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
        return conn.execute("SHOW server_version").fetchone()[0]


def metadata(pg_version: str, redis_url: str, args: argparse.Namespace) -> dict[str, Any]:
    from importlib.metadata import version

    import django
    import redis

    def git(*command: str) -> str:
        try:
            return subprocess.run(
                ["git", *command], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except OSError:
            return ""

    def program(*command: str) -> str:
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=10)
        except OSError:
            return "not found"
        return (
            (result.stdout or result.stderr).strip().splitlines()[0]
            if result.returncode == 0
            else ""
        )

    versions = {
        "python": platform.python_version(),
        "django": django.get_version(),
        "djangorestframework": version("djangorestframework"),
        "celery": version("celery"),
        "django-anymail": version("django-anymail"),
        "gunicorn": version("gunicorn"),
        "psycopg": version("psycopg"),
        "postgresql": pg_version,
        "redis": redis.Redis.from_url(redis_url).info("server")["redis_version"],
        "moto": version("moto"),
        "uvicorn": version("uvicorn"),
        "hey": "debian " + program("dpkg-query", "-W", "-f", "${Version}", "hey"),
    }
    return {
        "git_revision": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "versions": versions,
        "run": {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "full": args.full,
        },
    }


def run_one(name: str, env: dict[str, str], full: bool) -> tuple[list[dict[str, Any]], str | None]:
    script, default_args, full_args, limit = BENCHMARKS[name]
    arguments = full_args if full else default_args
    if full:
        limit *= 4
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        result_file = Path(handle.name)
    log = OUT / f"{name}.log"
    print(f"\n== {name}: bench/{script} {' '.join(arguments)} (limit {limit} s)", flush=True)
    started = time.monotonic()
    with log.open("w") as log_handle:
        process = subprocess.Popen(
            [
                sys.executable,
                "-u",
                str(ROOT / "bench" / script),
                *arguments,
                "--json",
                str(result_file),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        error = None

        def pump() -> None:  # the script's output, to the log and (quietly) to the terminal
            assert process.stdout is not None
            for line in process.stdout:
                log_handle.write(line)
                if "UserWarning" not in line and "mw_instance" not in line:
                    print("   " + line, end="", flush=True)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            try:
                process.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                error = f"timed out after {limit} s"
        finally:
            stop_group(process)
            reader.join(timeout=5)
    if error is None and process.returncode != 0:
        error = f"exited with status {process.returncode} (see var/bench/{name}.log)"
    try:
        results = json.loads(result_file.read_text() or "[]") if error is None else []
    finally:
        result_file.unlink(missing_ok=True)
    for row in results:
        row["benchmark"] = name
    print(f"   ({time.monotonic() - started:.0f} s)", flush=True)
    return results, error


def number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def table(results: list[dict[str, Any]]) -> str:
    header = (
        f"{'benchmark':<72} {'figure':>9} {'baseline':>9} {'ratio':>6} {'p95 ms':>7} "
        f"{'target':<26} {'pass':<4}"
    )
    lines = [header, "-" * len(header)]
    for row in results:
        verdict = {True: "yes", False: "NO", None: "-"}[row.get("pass")]
        lines.append(
            f"{row['name'][:72]:<72} {number(row.get('figure')):>9} {number(row.get('baseline')):>9} "
            f"{number(row.get('ratio')):>6} {number(row.get('p95', '')):>7} "
            f"{row.get('target', '')[:26]:<26} {verdict:<4}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--full", action="store_true", help="the scripts' full sizes (search over 100,000 messages)"
    )
    parser.add_argument("--only", help=f"comma-separated subset of: {','.join(BENCHMARKS)}")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    sys.path.insert(0, str(ROOT))
    OUT.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    pg_version = ensure_database(database_url)
    redis_process, redis_url = start_redis()
    meta = metadata(pg_version, redis_url, args)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CACHE_URL": f"{redis_url}/0",
        "CELERY_BROKER_URL": f"{redis_url}/1",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore",
    }
    started = time.monotonic()
    results: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    try:
        for name in names:
            rows, error = run_one(name, env, args.full)
            results.extend(rows)
            if error:
                errors[name] = error
                results.append(
                    {"benchmark": name, "name": f"{name}: FAILED ({error})", "pass": False}
                )
    finally:
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=10)
    meta["run"]["duration_seconds"] = round(time.monotonic() - started, 1)
    meta["run"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    for row in results:
        row.update(meta)
    (OUT / "latest.json").write_text(json.dumps(results, indent=2) + "\n")

    run, versions = meta["run"], meta["versions"]
    print(
        f"\nSendook benchmarks, {run['started_at']}, git {meta['git_revision'][:10]}{' (dirty)' if meta['git_dirty'] else ''}; "
        f"Python {versions['python']}, Django {versions['django']}, PostgreSQL {versions['postgresql']}, Redis {versions['redis']}; "
        f"{run['machine']}, load {run['load_average_at_start']} -> {run['load_average_at_end']}; {run['duration_seconds']:.0f} s"
    )
    print(table(results))
    print(f"\nwrote {OUT.relative_to(ROOT) / 'latest.json'}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
