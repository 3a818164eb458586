"""Shared plumbing of the reliability scripts: environment, processes, waiting.

Every script runs against a real PostgreSQL database (RELIABILITY_DATABASE_URL, default
sendook_reliability on 127.0.0.1) and real Redis (RELIABILITY_BROKER_URL / RELIABILITY_CACHE_URL),
starts what else it needs on random loopback ports, bounds every loop in time and prints its
figure on its last line. The database is migrated and written to: never point it at real data.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
warnings.filterwarnings("ignore", message="No directory at")  # static files: not served here
# A SIGTERM (e.g. `timeout`) unwinds like an exception, so the processes we started are stopped.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get(
    "RELIABILITY_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sendook_reliability"
)
# Redis is each script's own throwaway redis-server on a random loopback port (set by
# own_redis()), so faults never touch a shared server.
BROKER_URL = CACHE_URL = ""


@contextlib.contextmanager
def own_redis(port: int | None = None) -> Iterator[subprocess.Popen]:
    """A throwaway redis-server (no persistence) on loopback; sets BROKER_URL/CACHE_URL."""
    global BROKER_URL, CACHE_URL
    port = port or free_port()
    process = start_redis(port)
    BROKER_URL, CACHE_URL = f"redis://127.0.0.1:{port}/1", f"redis://127.0.0.1:{port}/0"
    try:
        yield process
    finally:
        stop(process)


PG_BIN = Path(os.environ.get("RELIABILITY_PG_BIN", "/usr/lib/postgresql/15/bin"))


class Postgres:
    """A private PostgreSQL cluster in a temp dir, on a loopback port, trust auth, fsync off.

    Faults (stop, restart) are injected here, never into a shared server. PostgreSQL refuses to
    run as root, so as root every pg_ctl/initdb runs as the `postgres` OS user via runuser.
    synchronous_commit stays on: a transaction the app saw committed must survive `-m immediate`
    (fsync off only gives up durability against an OS crash, which does not happen here).
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="sendook-rel-pg-"))
        self.data = self.dir / "data"
        if os.geteuid() == 0:
            shutil.chown(self.dir, user="postgres", group="postgres")

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _pg(self, program: str, *args: str, timeout: float = 60) -> None:
        command = [str(PG_BIN / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.dir
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{program} {' '.join(args)} failed:\n{result.stdout}{result.stderr}{self.log_tail()}"
            )

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.dir / "postgres.log").read_text(errors="replace")[-2000:]
        return ""

    def init(self) -> None:
        self._pg(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
            "-c full_page_writes=off -c max_connections=100"
        )
        self._pg(
            "pg_ctl",
            "start",
            "-D",
            str(self.data),
            "-w",
            "-t",
            "60",
            "-l",
            str(self.dir / "postgres.log"),
            "-o",
            options,
            timeout=90,
        )

    def stop(self, mode: str = "fast") -> None:
        """`mode`: pg_ctl's shutdown mode (smart, fast, immediate)."""
        self._pg("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", "60", timeout=90)

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def destroy(self) -> None:
        try:
            if self.running():
                self.stop("immediate")
        except Exception:  # pg_ctl failed: stop the postmaster ourselves
            with contextlib.suppress(OSError, ValueError, IndexError):
                pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
                os.kill(pid, signal.SIGQUIT)
                wait_until(lambda: not Path(f"/proc/{pid}").exists(), 10)
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def own_postgres(database: str = "sendook_reliability") -> Iterator[Postgres]:
    """A throwaway PostgreSQL cluster (see Postgres); sets DATABASE_URL to `database` in it.

    Removed on exit, also on SIGTERM (unwinds through sys.exit above) and Ctrl-C.
    """
    global DATABASE_URL
    cluster = Postgres(free_port())
    try:
        cluster.init()
        cluster.start()
        DATABASE_URL = cluster.url(database)
        yield cluster
    finally:
        cluster.destroy()


def start_redis(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    if not wait_until(lambda: _port_open(port), 10, 0.05):
        stop(process)
        raise RuntimeError("redis-server did not start")
    return process


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def configure(**overrides: str) -> None:
    """Environment for this process (the API side) and the processes it starts."""
    defaults = {
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "CACHE_URL": CACHE_URL,
        "SENDOOK_SEND_RATE_LIMIT": "100000000/h",
        "SENDOOK_DAILY_SEND_CAP": "100000000",
        "SENDOOK_API_RATE_LIMIT": "100000000/m",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "DJANGO_SETTINGS_MODULE": "sendook.settings",
        "LOG_LEVEL": "WARNING",
        "MEDIA_ROOT": os.environ.get("RELIABILITY_MEDIA_ROOT")
        or tempfile.mkdtemp(prefix="sendook-rel-media-"),
    }
    os.environ.update({**defaults, **overrides})


@contextlib.contextmanager
def signed_sns_endpoint(**overrides: str) -> Iterator[object]:
    """Settings for POST /webhooks/ses that trust a throwaway SNS signing certificate served on
    loopback (messages/tests/inbound/ses/sns_testing.py); yields the test PKI to sign notifications with."""
    from messages.tests.inbound.ses.sns_testing import TOPIC_ARN, create_test_pki, serve_certificate

    pki = create_test_pki()
    with serve_certificate(pki) as cert_server:
        configure(
            SENDOOK_SES_TOPIC_ARNS=TOPIC_ARN,
            SENDOOK_SNS_CERT_CONNECT_TO=cert_server.connect_to,
            SENDOOK_SNS_CA_BUNDLE=cert_server.ca_bundle,
            **overrides,
        )
        yield pki


def setup_django() -> None:
    import django

    ensure_database()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def ensure_database() -> None:
    import psycopg

    url = os.environ["DATABASE_URL"]
    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stops a process started with start_new_session=True (its whole group)."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's standalone server on loopback: the local SES endpoint."""
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_until(lambda: _reachable(f"{url}/moto-api/"), 30):
            raise RuntimeError("moto_server did not start")
        import boto3

        ses = boto3.client("ses", region_name="us-east-1", endpoint_url=url)
        domain = os.environ.get("SENDOOK_DEFAULT_DOMAIN", "sendook.localhost")
        ses.verify_domain_identity(Domain=domain)
        ses.verify_email_identity(EmailAddress=domain)
        yield url
    finally:
        stop(process)


def _reachable(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1)
        return True
    except OSError:
        return False


def sent_at_moto(moto_url: str) -> list[str]:
    """Message-IDs of every raw message moto's SES received, one entry per send."""
    import email
    import email.policy

    with urllib.request.urlopen(f"{moto_url}/moto-api/data.json", timeout=30) as response:
        data = json.load(response)
    return [
        str(email.message_from_string(raw["raw_data"], policy=email.policy.default)["Message-ID"])
        for raw in data.get("ses", {}).get("RawMessage", [])
    ]


class Worker:
    """A real `celery -A sendook worker` in its own process group."""

    def __init__(
        self, env: dict[str, str], log: Path, concurrency: int = 2, name: str = "rel"
    ) -> None:
        self.env, self.log, self.concurrency, self.name = env, log, concurrency, name
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 60) -> None:
        self.starts += 1
        marker = len(self.log.read_bytes()) if self.log.exists() else 0
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "sendook",
                "worker",
                "-l",
                "info",
                "--concurrency",
                str(self.concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"{self.name}-{os.getpid()}-{self.starts}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        ok = wait_until(
            lambda: b"ready." in self.log.read_bytes()[marker:] or self.process.poll() is not None,
            timeout,
            0.1,
        )
        if not ok or self.process.poll() is not None:
            raise RuntimeError(
                "celery worker did not start:\n" + self.log.read_text(errors="replace")[-3000:]
            )

    def kill(self) -> None:
        stop(self.process, signal.SIGKILL)

    def stop(self) -> None:
        stop(self.process)

    def pids(self) -> list[int]:
        """The main process and its pool children."""
        if self.process is None or self.process.poll() is not None:
            return []
        pids = [self.process.pid]
        with contextlib.suppress(OSError):
            children = (
                Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
                .read_text()
                .split()
            )
            pids += [int(pid) for pid in children]
        return pids


def rss_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (0 when it is gone)."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


# One key for every process of a run (web processes refuse the public fallback with DEBUG off).
_RUN_SECRET_KEY = os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50)


def worker_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "SECRET_KEY": _RUN_SECRET_KEY, **extra}


def figure(ok: bool, **values: object) -> int:
    """Prints the figure line (the script's last line) and returns the exit status."""
    parts = " ".join(
        f"{key}={value:.1f}" if isinstance(value, float) else f"{key}={value}"
        for key, value in values.items()
    )
    print(f"{parts} pass={'yes' if ok else 'no'}", flush=True)
    return 0 if ok else 1


def _start_server(
    port: int, env: dict[str, str], log: Path, command: list[str], name: str, timeout: float
) -> subprocess.Popen:
    """`command` in its own session, logging to `log`, once it listens on `port`."""
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started = wait_until(lambda: _port_open(port) or process.poll() is not None, timeout, 0.1)
    if not started or process.poll() is not None:
        raise RuntimeError(f"{name} did not start:\n" + log.read_text(errors="replace")[-3000:])
    return process


class Gunicorn:
    """The app under gunicorn (2 workers x 4 threads) on a random loopback port."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        workers: int = 2,
        threads: int = 4,
        app: str = "sendook.wsgi",
    ) -> None:
        self.env, self.log, self.workers, self.threads, self.app = env, log, workers, threads, app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        self.process = _start_server(
            self.port,
            self.env,
            self.log,
            [
                str(Path(sys.executable).with_name("gunicorn")),
                self.app,
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                str(self.workers),
                "--threads",
                str(self.threads),
                "--timeout",
                "60",
            ],
            "gunicorn",
            timeout,
        )

    def stop(self) -> None:
        stop(self.process)


class Uvicorn:
    """The ASGI process (`uvicorn sendook.asgi:application`, one process) on a random loopback
    port: what serves the event stream. `pid` is the uvicorn process itself (no supervisor), so
    its RSS and CPU are the stream's."""

    def __init__(
        self, env: dict[str, str], log: Path, app: str = "sendook.asgi:application"
    ) -> None:
        self.env, self.log, self.app = env, log, app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 60) -> None:
        self.process = _start_server(
            self.port,
            self.env,
            self.log,
            [
                sys.executable,
                "-m",
                "uvicorn",
                self.app,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            "uvicorn",
            timeout,
        )

    def stop(self) -> None:
        stop(self.process)


def post(
    url: str, body: bytes, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, bytes]:
    """POST over loopback; returns (status, body), status 0 when the connection failed."""
    import urllib.error

    request = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""
