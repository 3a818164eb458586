"""The product's ASGI process (uvicorn sendook.asgi:application) as a real subprocess, for tests
that need what only it serves: the event stream, /mcp, the staff UI's live updates.

It runs on a database of its own (a fresh PostgreSQL database when the suite runs on
PostgreSQL, a SQLite file otherwise), migrated once per test session, because the stream and
MCP tests kill and restart the process and must see only what went over the wire. Tests reach
it over HTTP and through `manage()` (createorg, receive_email, ...) with the same environment.
In-process tasks (no broker) unless a test passes its own `env`; Redis fan-out when the suite
has CACHE_URL.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
import psycopg

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveOrg:
    id: str
    api_key: str
    email: str
    password: str


@dataclass
class AsgiServer:
    workdir: Path
    base_env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return dict(self.base_env)

    def manage(self, *args: str, stdin: bytes | None = None, timeout: float = 120) -> str:
        """`manage.py <args>` against the server's database; returns stdout."""
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            input=stdin,
            capture_output=True,
            env=self.env,
            cwd=ROOT,
            timeout=timeout,
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)}: {done.stderr.decode()[-2000:]}")
        return done.stdout.decode()

    def new_org(self, name: str | None = None) -> LiveOrg:
        """A fresh organization with an owner login and a full-scope API key."""
        name = name or f"Live {secrets.token_hex(3)}"
        email = f"owner-{secrets.token_hex(4)}@example.com"
        password = "correct horse battery"
        made = json.loads(
            self.manage("createorg", name, "--email", email, "--password", password, "--json")
        )
        return LiveOrg(
            id=made["organizationId"],
            api_key=made["apiKey"],
            email=email,
            password=password,
        )

    def start(self, *, wait: float = 30) -> None:
        log = open(self.workdir / "uvicorn.log", "ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "sendook.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "2",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"uvicorn did not answer /health: {self.log_tail()}")

    def stop(self, *, kill: bool = False) -> None:
        """`kill=True`: SIGKILL, as a crash would (no graceful shutdown, no goodbye to clients)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self, *, kill: bool = True) -> None:
        self.stop(kill=kill)
        self.start()

    def log_tail(self, chars: int = 4000) -> str:
        path = self.workdir / "uvicorn.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def _live_database_url(workdir: Path) -> tuple[str, str | None]:
    """(DATABASE_URL for the server, PostgreSQL admin URL to drop it with, or None)."""
    suite = os.environ.get("DATABASE_URL", "")
    if not suite.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{workdir / 'live.sqlite3'}", None
    name = f"{dj_database_url.parse(suite)['NAME']}_live_{os.getpid()}"
    parts = urlsplit(suite)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), admin


def start_asgi_server(workdir: Path, dns_resolver: str) -> tuple[AsgiServer, str | None]:
    database_url, admin = _live_database_url(workdir)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY="live-" + secrets.token_urlsafe(32),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SENDOOK_VAR_DIR=str(workdir / "var"),
        MEDIA_ROOT=str(workdir / "media"),
        SENDOOK_SANDBOX_DIR=str(workdir / "sandbox"),
        SENDOOK_DNS_RESOLVER=dns_resolver,
        PYTHONUNBUFFERED="1",
    )
    server = AsgiServer(workdir=workdir, base_env=env)
    server.manage("migrate", "--noinput", "-v0", timeout=300)
    server.start()
    return server, admin


def drop_live_database(server: AsgiServer, admin: str | None) -> None:
    server.stop()
    if admin:
        name = dj_database_url.parse(server.base_env["DATABASE_URL"])["NAME"]
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
