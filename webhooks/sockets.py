"""A socket bounded by one deadline, so a receiver that trickles bytes cannot hold a worker."""

from __future__ import annotations

import io
import math
import select
import socket
import time


class DeadlineSocket:
    """A connected socket whose every send and receive must finish by `deadline` (monotonic).

    Per-operation socket timeouts alone would let a receiver that sends one byte per second keep
    a delivery open forever; re-arming the timeout with the time left before each operation
    bounds the whole exchange. http.client only needs sendall, makefile and close.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.deadline = math.inf
        self._readers = 0
        self._closed = False

    def _arm(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("delivery deadline exceeded")
        self.sock.settimeout(remaining)

    def sendall(self, data: bytes) -> None:
        self._arm()
        self.sock.sendall(data)

    def recv_into(self, buffer: memoryview) -> int:
        self._arm()
        return self.sock.recv_into(buffer)

    def makefile(self, mode: str = "rb", *args: object, **kwargs: object) -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(_SocketReader(self))

    def release_reader(self) -> None:
        self._readers -= 1
        if self._closed and self._readers <= 0:
            self.sock.close()

    def close(self) -> None:
        # Like socket.close(): a response still reading its body keeps the socket open.
        self._closed = True
        if self._readers <= 0:
            self.sock.close()

    def looks_dropped(self) -> bool:
        """True if an idle connection has data or EOF waiting, i.e. the server gave up on it."""
        if self.sock.fileno() < 0:
            return True
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        return bool(poller.poll(0))


class _SocketReader(io.RawIOBase):
    def __init__(self, owner: DeadlineSocket) -> None:
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        return self._owner.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._owner.release_reader()
        super().close()
