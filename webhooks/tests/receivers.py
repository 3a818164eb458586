"""Loopback HTTP receivers that stand in for a customer's webhook endpoint in tests.

    with receiver(ok(), secret=secret) as hook:
        post(hook.url, ..., allow_private=True)
        assert hook.requests[0].verified

A receiver listens on 127.0.0.1 on a free port, serves each connection on its own thread with
HTTP/1.1 keep-alive, checks each request's Standard Webhooks signature when given a secret
(answering 401 when it does not verify, as a real receiver would), records it, then answers as
its behavior says. `connections` counts accepted TCP connections, to observe keep-alive.
"""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    verified: bool | None  # None when the receiver has no secret
    verify_error: str = ""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Exchange:
    """What a behavior sees of one request: its numbers (from 0) and a way to answer."""

    number: int  # among all requests this receiver got
    number_on_connection: int  # among the requests on this TCP connection
    request: ReceivedRequest
    handler: BaseHTTPRequestHandler
    stopping: threading.Event

    def send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.handler.send_response(status)
        for name, value in (headers or {}).items():
            self.handler.send_header(name, value)
        self.handler.send_header("Content-Length", str(len(body)))
        self.handler.end_headers()
        self.handler.wfile.write(body)
        self.handler.wfile.flush()

    def write_slowly(self, data: bytes, interval: float) -> None:
        """Write `data` one byte per `interval` seconds until the receiver stops."""
        for index in range(len(data)):
            self.handler.wfile.write(data[index : index + 1])
            self.handler.wfile.flush()
            if self.stopping.wait(interval):
                break
        self.handler.close_connection = True


Behavior = Callable[[Exchange], None]


def ok(body: bytes = b'{"received": true}') -> Behavior:
    def behave(exchange: Exchange) -> None:
        exchange.send(200, body, {"Content-Type": "application/json"})

    return behave


def status(code: int, body: bytes = b"") -> Behavior:
    def behave(exchange: Exchange) -> None:
        exchange.send(code, body)

    return behave


def fail_first(n: int, code: int = 500) -> Behavior:
    """Answer `code` to the first n requests, then 200."""

    def behave(exchange: Exchange) -> None:
        if exchange.number < n:
            exchange.send(code, b"not yet")
        else:
            exchange.send(200, b'{"received": true}')

    return behave


def hang() -> Behavior:
    """Read the request, never answer (until the receiver stops)."""

    def behave(exchange: Exchange) -> None:
        exchange.stopping.wait()
        exchange.handler.close_connection = True

    return behave


def trickle(interval: float = 0.2, phase: str = "body") -> Behavior:
    """Answer one byte every `interval` seconds, forever: in the body, or inside the headers."""
    if phase not in ("body", "headers"):
        raise ValueError("phase must be 'body' or 'headers'")

    def behave(exchange: Exchange) -> None:
        endless = b"." * 10**6
        if phase == "body":
            exchange.handler.send_response(200)
            exchange.handler.send_header("Content-Length", str(10**9))
            exchange.handler.end_headers()
            exchange.handler.wfile.flush()
            exchange.write_slowly(endless, interval)
        else:
            exchange.handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            exchange.write_slowly(endless, interval)

    return behave


def redirect(to_url: str, code: int = 302) -> Behavior:
    def behave(exchange: Exchange) -> None:
        exchange.send(code, b"", {"Location": to_url})

    return behave


def drop_reused_connections() -> Behavior:
    """Answer 200 to the first request on each connection; hang up on any later one unanswered.

    This is a server whose keep-alive timeout fires just as the client reuses the connection.
    """

    def behave(exchange: Exchange) -> None:
        if exchange.number_on_connection == 0:
            exchange.send(200, b'{"received": true}')
        else:
            exchange.handler.close_connection = True

    return behave


def big_response(size: int = 10 * 1024 * 1024) -> Behavior:
    """Answer 200 with `size` bytes of body, stopping quietly if the client hangs up."""

    def behave(exchange: Exchange) -> None:
        exchange.handler.send_response(200)
        exchange.handler.send_header("Content-Length", str(size))
        exchange.handler.end_headers()
        chunk = b"x" * 65536
        sent = 0
        while sent < size and not exchange.stopping.is_set():
            piece = chunk[: size - sent]
            exchange.handler.wfile.write(piece)
            sent += len(piece)
        exchange.handler.wfile.flush()

    return behave


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # idle keep-alive connections end on their own
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server

    def do_POST(self) -> None:
        self._handle_any()

    def do_GET(self) -> None:
        self._handle_any()

    def do_PUT(self) -> None:
        self._handle_any()

    def _handle_any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        recv = self.server.owner
        verified: bool | None = None
        verify_error = ""
        if recv.secret is not None:
            try:
                Webhook(recv.secret).verify(body, headers, json_parse=False)
                verified = True
            except (WebhookVerificationError, ValueError) as exc:
                verified, verify_error = False, str(exc) or type(exc).__name__
        request = ReceivedRequest(self.command, self.path, headers, body, verified, verify_error)
        number = recv._record(request)
        on_connection = getattr(self, "_served", 0)
        self._served = on_connection + 1
        exchange = Exchange(number, on_connection, request, self, recv.stopping)
        if verified is False:
            exchange.send(401, b"bad signature")
            return
        recv.behavior(exchange)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: Receiver

    def process_request(self, request: Any, client_address: Any) -> None:
        self.owner._accepted(request)
        super().process_request(request, client_address)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.owner.tls is not None:
            request = self.owner.tls.wrap_socket(request, server_side=True)
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up on purpose (timeouts, capped reads) is the point of the tests


@dataclass
class Receiver:
    behavior: Behavior
    secret: str | None = None
    tls: ssl.SSLContext | None = None
    url_host: str = "127.0.0.1"
    listen_port: int = 0
    requests: list[ReceivedRequest] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._connections = 0
        self._sockets: list[socket.socket] = []
        self._server = _Server(("127.0.0.1", self.listen_port), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{self.url_host}:{self.port}/hooks/sendook"

    @property
    def connections(self) -> int:
        with self._lock:
            return self._connections

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """Wait until at least `count` requests arrived; return them (for async deliveries)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} requests, got {len(self.requests)}")

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()
        self._thread.join(timeout=5)

    def _accepted(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections += 1
            self._sockets.append(sock)

    def _record(self, request: ReceivedRequest) -> int:
        with self._lock:
            self.requests.append(request)
            return len(self.requests) - 1


@contextmanager
def receiver(
    behavior: Behavior | None = None,
    *,
    secret: str | None = None,
    tls: ssl.SSLContext | None = None,
    url_host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[Receiver]:
    """Run a loopback receiver for the duration of the block.

    `url_host` only changes the host written in `.url` (e.g. a name that an injected resolver
    maps to 127.0.0.1, to exercise SNI and certificate checks); it always listens on 127.0.0.1, on `port` or a free one.
    """
    running = Receiver(
        behavior or ok(), secret=secret, tls=tls, url_host=url_host, listen_port=port
    ).start()
    try:
        yield running
    finally:
        running.stop()


def free_port() -> int:
    """A loopback port nothing listens on (for connection-refused tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed_tls(hostname: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Return (server context, client context trusting it) for a certificate for `hostname`.

    Needs the `cryptography` package.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as directory:
        cert_path, key_path = Path(directory, "cert.pem"), Path(directory, "key.pem")
        cert_path.write_bytes(cert_pem)
        key_path.write_bytes(key_pem)
        server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cadata=cert_pem.decode("ascii"))
    return server, client
