"""Slow clients against the shipped gunicorn configuration: does a normal request still pass?

Starts gunicorn on loopback with deploy/gunicorn.conf.py (or, with --baseline, the previous
two sync workers), opens --clients connections that dribble their request slowly (half the
headers, half a POST body, one byte every 0.5 s), and meanwhile times plain GET /health
requests. The figure is the slowest of those; the target is under 1 s. Embedded defaults
(SQLite in a temp dir, no broker), so nothing else is needed; bounded in total time.

    python reliability/slow_clients.py              # the shipped configuration
    python reliability/slow_clients.py --baseline   # gunicorn -w 2 (sync), as before
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from reliability.common import ROOT, free_port, stop, wait_until

TARGET_SECONDS = 1.0
REQUEST_TIMEOUT = 8.0


def start_gunicorn(port: int, var_dir: str, *, baseline: bool) -> subprocess.Popen:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CACHE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    }
    env.update(SENDOOK_VAR_DIR=var_dir, DEBUG="0", GUNICORN_HOST="127.0.0.1", PORT=str(port))
    env.setdefault("SECRET_KEY", secrets.token_urlsafe(50))  # DEBUG off: the fallback is refused
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    if baseline:
        args = [gunicorn, "sendook.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    else:
        args = [gunicorn, "sendook.wsgi", "--config", str(ROOT / "deploy" / "gunicorn.conf.py")]
    args += [
        "--access-logfile",
        "/dev/null",
        "--error-logfile",
        str(Path(var_dir) / "gunicorn.log"),
    ]
    return subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True)


def get_health(port: int) -> float:
    """Seconds one GET /health took; REQUEST_TIMEOUT when it did not answer 200 in time."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/health", timeout=REQUEST_TIMEOUT
        ) as response:
            response.read()
            if response.status != 200:
                return REQUEST_TIMEOUT
    except OSError:
        return REQUEST_TIMEOUT
    return time.monotonic() - started


def dribble(port: int, index: int, until: float) -> None:
    """One slow client: sends its request a byte every 0.5 s until `until`."""
    body = b'{"name": "slow client"}' + b" " * 200
    head = (
        f"POST /v1/inboxes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    # Even clients stall inside the headers, odd ones inside the body.
    fast, slow = (head[:20], head[20:] + body) if index % 2 == 0 else (head, body)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(fast)
            for byte in slow:
                if time.monotonic() >= until:
                    return
                sock.sendall(bytes([byte]))
                time.sleep(0.5)
    except OSError:
        pass  # the server dropped the slow client: allowed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", action="store_true", help="two sync workers, as before")
    parser.add_argument("--clients", type=int, default=8, help="slow connections (default 8)")
    parser.add_argument("--seconds", type=float, default=15, help="how long they dribble")
    options = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="sendook-slow-") as var_dir:
        server = start_gunicorn(port, var_dir, baseline=options.baseline)
        try:
            if not wait_until(lambda: get_health(port) < REQUEST_TIMEOUT, 30, 0.3):
                print("gunicorn did not answer /health", file=sys.stderr)
                return 2
            idle = get_health(port)
            until = time.monotonic() + options.seconds
            clients = [
                threading.Thread(target=dribble, args=(port, i, until), daemon=True)
                for i in range(options.clients)
            ]
            for client in clients:
                client.start()
            time.sleep(1)  # let them connect and start dribbling
            timings = []
            while time.monotonic() < until - 1:
                timings.append(get_health(port))
                time.sleep(0.2)
            for client in clients:
                client.join(timeout=5)
        finally:
            stop(server)
    label = "2 sync workers (baseline)" if options.baseline else "deploy/gunicorn.conf.py"
    worst = max(timings) if timings else REQUEST_TIMEOUT
    timings.sort()
    median = timings[len(timings) // 2] if timings else REQUEST_TIMEOUT
    missed = sum(1 for value in timings if value >= REQUEST_TIMEOUT)
    ok = worst < TARGET_SECONDS
    print(
        f"slow clients: {options.clients} for {options.seconds:g} s, {label}; GET /health idle "
        f"{idle * 1000:.0f} ms; meanwhile {len(timings)} requests, median {median * 1000:.0f} ms, "
        f"slowest {worst:.2f} s, {missed} unanswered in {REQUEST_TIMEOUT:g} s "
        f"(target: slowest < {TARGET_SECONDS:g} s) {'ok' if ok else 'MISS'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
