"""POST one webhook delivery to a customer's URL, safely, and report what happened.

`Poster.post()` never raises. It vets the URL with `ssrf.vet_url`, connects to exactly the vetted
addresses (no second DNS lookup), sends the URL's own host in the Host header and, for https,
as SNI and the name the certificate must match. Redirects are reported, never followed. Every
send and receive is bounded by one wall-clock deadline (`total_timeout` from the call), so a
receiver that trickles a byte at a time cannot hold a worker (sockets.DeadlineSocket). DNS resolution counts against the
deadline but cannot be interrupted; the system resolver's own timeouts bound it.

A `Poster` keeps idle keep-alive connections per (scheme, ip, port, host) so a worker that
delivers many events to one receiver reuses its connection. Connections are checked out by one
thread at a time; the pool itself is guarded by a lock, so one Poster may serve many threads.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from webhooks.sockets import DeadlineSocket
from webhooks.ssrf import Resolver, UnsafeUrlError, UrlParts, VettedUrl, vet_url

logger = logging.getLogger(__name__)

USER_AGENT = "Sendook-Webhooks/1.0"
EXCERPT_CHARS = 2048
# Headers Sendook owns on the wire; a caller's values for these are ignored.
_MANAGED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}
)
_READ_CHUNK = 65536


@dataclass
class DeliveryResult:
    status_code: int | None
    ok: bool  # the receiver answered 2xx
    error: str  # empty when ok
    duration_ms: int
    response_excerpt: str


class _Failure(Exception):
    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class _Connection(http.client.HTTPConnection):
    """An HTTP/1.1 connection over a socket we opened ourselves to a vetted address."""

    def __init__(self, sock: DeadlineSocket, ip: str, port: int) -> None:
        super().__init__(ip, port)
        self.auto_open = 0  # never let http.client open (and resolve) on its own
        self.sock = sock
        self.deadline_sock = sock
        self.idle_since = time.monotonic()

    def connect(self) -> None:  # pragma: no cover - auto_open is off
        raise http.client.NotConnected("connections are opened by Poster")


PoolKey = tuple[str, str, int, str]


class Poster:
    """Delivers webhooks, reusing keep-alive connections. Safe to share between threads."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_idle_per_key: int = 4,
        idle_timeout: float = 20.0,
    ) -> None:
        self._ssl_context = ssl_context
        self._max_idle_per_key = max_idle_per_key
        self._idle_timeout = idle_timeout
        self._idle: dict[PoolKey, list[_Connection]] = {}
        self._lock = threading.Lock()

    def post(
        self,
        url: str,
        *,
        body: bytes,
        headers: Mapping[str, str],
        allow_private: bool = False,
        connect_timeout: float = 5.0,
        total_timeout: float = 10.0,
        max_response_bytes: int = 65536,
        resolver: Resolver | None = None,
    ) -> DeliveryResult:
        started = time.monotonic()
        try:
            vetted = vet_url(url, allow_private=allow_private, resolver=resolver)
        except UnsafeUrlError as exc:
            return refused(exc, started=started)
        return self.post_to(
            vetted,
            body=body,
            headers=headers,
            connect_timeout=connect_timeout,
            total_timeout=total_timeout,
            max_response_bytes=max_response_bytes,
            started=started,
        )

    def post_to(
        self,
        vetted: VettedUrl,
        *,
        body: bytes,
        headers: Mapping[str, str],
        connect_timeout: float = 5.0,
        total_timeout: float = 10.0,
        max_response_bytes: int = 65536,
        started: float | None = None,
    ) -> DeliveryResult:
        """Post to a URL `ssrf.vet_url` already vetted, connecting only to its addresses.

        A batch of deliveries to one webhook vets the URL once and posts each delivery here;
        `total_timeout` bounds each post on its own. Never raises.
        """
        if started is None:
            started = time.monotonic()

        def result(status: int | None, error: str, excerpt: str = "") -> DeliveryResult:
            ok = status is not None and 200 <= status < 300 and not error
            duration_ms = int((time.monotonic() - started) * 1000)
            return DeliveryResult(status, ok, "" if ok else error, duration_ms, excerpt)

        deadline = started + total_timeout
        try:
            status, reason, location, data = self._exchange(
                vetted,
                body=body,
                headers=headers,
                connect_timeout=connect_timeout,
                deadline=deadline,
                max_response_bytes=max_response_bytes,
            )
        except _Failure as failure:
            return result(failure.status_code, failure.message)
        except Exception as exc:  # a delivery is a process edge: report, never raise
            logger.exception("unexpected error delivering webhook to %s", vetted.parts.host)
            return result(None, f"unexpected error: {type(exc).__name__}: {exc}")

        excerpt = data.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
        if 300 <= status < 400:
            target = (location or "no location")[:200]
            return result(status, f"redirect not followed ({status} to {target})", excerpt)
        if 200 <= status < 300:
            return result(status, "", excerpt)
        return result(status, f"HTTP {status} {reason[:100]}".strip(), excerpt)

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def __enter__(self) -> Poster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _exchange(
        self,
        vetted: VettedUrl,
        *,
        body: bytes,
        headers: Mapping[str, str],
        connect_timeout: float,
        deadline: float,
        max_response_bytes: int,
    ) -> tuple[int, str, str | None, bytes]:
        parts = vetted.parts
        connection, key = self._checkout(vetted)
        reused = connection is not None
        if connection is None:
            connection, key = self._connect(vetted, connect_timeout, deadline)
        try:
            response = _send(connection, parts, body=body, headers=headers, deadline=deadline)
        except (ConnectionError, http.client.RemoteDisconnected) as exc:
            connection.close()
            if not reused:
                raise _Failure(_describe(exc, parts)) from None
            # The server closed the idle connection just as we reused it: retry once, fresh.
            connection, key = self._connect(vetted, connect_timeout, deadline)
            try:
                response = _send(connection, parts, body=body, headers=headers, deadline=deadline)
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                raise _Failure(_describe(exc, parts)) from None
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise _Failure(_describe(exc, parts)) from None
        except Exception:
            connection.close()
            raise

        reusable = False
        try:
            data = _read_capped(response, max_response_bytes)
            reusable = response.isclosed() and not response.will_close
        except (OSError, http.client.HTTPException) as exc:
            raise _Failure(_describe(exc, parts), response.status) from None
        finally:
            if reusable and connection.sock is not None:
                self._checkin(key, connection)
            else:
                response.close()
                connection.close()
        return response.status, response.reason, response.getheader("Location"), data

    def _checkout(self, vetted: VettedUrl) -> tuple[_Connection | None, PoolKey]:
        now = time.monotonic()
        stale: list[_Connection] = []
        found: tuple[_Connection | None, PoolKey] | None = None
        with self._lock:
            for ip, port in vetted.addresses:
                key = (vetted.parts.scheme, ip, port, vetted.parts.host_header)
                idle = self._idle.get(key, [])
                while idle and found is None:
                    connection = idle.pop()
                    if now - connection.idle_since > self._idle_timeout:
                        stale.append(connection)
                    elif connection.deadline_sock.looks_dropped():
                        stale.append(connection)
                    else:
                        found = (connection, key)
                if found:
                    break
        for connection in stale:
            connection.close()
        if found:
            return found
        ip, port = vetted.addresses[0]
        return None, (vetted.parts.scheme, ip, port, vetted.parts.host_header)

    def _checkin(self, key: PoolKey, connection: _Connection) -> None:
        now = time.monotonic()
        connection.idle_since = now
        evicted: list[_Connection] = []
        with self._lock:
            for other_key in list(self._idle):
                idle = self._idle[other_key]
                keep = [c for c in idle if now - c.idle_since <= self._idle_timeout]
                evicted.extend(c for c in idle if c not in keep)
                if keep:
                    self._idle[other_key] = keep
                else:
                    del self._idle[other_key]
            idle = self._idle.setdefault(key, [])
            idle.append(connection)
            while len(idle) > self._max_idle_per_key:
                evicted.append(idle.pop(0))
        for old in evicted:
            old.close()

    def _connect(
        self, vetted: VettedUrl, connect_timeout: float, deadline: float
    ) -> tuple[_Connection, PoolKey]:
        parts = vetted.parts
        last_error: Exception | None = None
        for ip, port in vetted.addresses:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            family = socket.AF_INET6 if ":" in ip else socket.AF_INET
            raw = socket.socket(family, socket.SOCK_STREAM)
            try:
                raw.settimeout(min(connect_timeout, remaining))
                raw.connect((ip, port))
            except OSError as exc:
                raw.close()
                last_error = exc
                continue
            try:
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock: socket.socket = raw
                if parts.scheme == "https":
                    raw.settimeout(max(deadline - time.monotonic(), 0.001))
                    sock = self._tls_context().wrap_socket(raw, server_hostname=parts.host)
            except OSError as exc:
                raw.close()
                raise _Failure(_describe(exc, parts)) from None
            key = (parts.scheme, ip, port, parts.host_header)
            return _Connection(DeadlineSocket(sock), ip, port), key
        if last_error is None:
            raise _Failure("timeout")
        if isinstance(last_error, TimeoutError):
            raise _Failure("connect timeout")
        raise _Failure(_describe(last_error, parts))

    def _tls_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context


def _send(
    connection: _Connection,
    parts: UrlParts,
    *,
    body: bytes,
    headers: Mapping[str, str],
    deadline: float,
) -> http.client.HTTPResponse:
    connection.deadline_sock.deadline = deadline
    # putrequest adds "Accept-Encoding: identity", so the excerpt is never compressed bytes.
    connection.putrequest("POST", parts.target, skip_host=True)
    connection.putheader("Host", parts.host_header)
    names = {name.lower() for name in headers}
    for name, value in headers.items():
        if name.lower() not in _MANAGED_HEADERS:
            connection.putheader(name, value)
    if "user-agent" not in names:
        connection.putheader("User-Agent", USER_AGENT)
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    return connection.getresponse()


def _read_capped(response: http.client.HTTPResponse, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total < limit:
        chunk = response.read(min(_READ_CHUNK, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _describe(exc: BaseException, parts: UrlParts) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"tls certificate not valid for {parts.host}: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"tls error: {exc.reason or exc}"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "connection closed without a response"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, http.client.HTTPException):
        return f"invalid http response: {type(exc).__name__}"
    if isinstance(exc, OSError):
        return f"connection error: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def refused(exc: UnsafeUrlError, *, started: float | None = None) -> DeliveryResult:
    """The result of a delivery whose URL failed the SSRF vetting: nothing was sent."""
    duration_ms = 0 if started is None else int((time.monotonic() - started) * 1000)
    return DeliveryResult(None, False, f"unsafe url: {exc}", duration_ms, "")
