"""A real DNS server on loopback (UDP, dnspython wire format) for domain verification tests."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dns.message
import dns.rcode
import dns.rrset


class LoopbackDnsServer:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[str]] = {}
        self.queries: list[tuple[str, str]] = []
        # Names answered badly on purpose: "silent" (never answers, a timeout) or "garbage"
        # (bytes that are not a DNS message).
        self.misbehaving: dict[str, str] = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def add(self, name: str, rtype: str, value: str) -> None:
        self.records.setdefault((name.rstrip(".").lower(), rtype), []).append(value)

    def misbehave(self, name: str, how: str) -> None:
        assert how in ("silent", "garbage"), how
        self.misbehaving[name.rstrip(".").lower()] = how

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".").lower()
            rtype = dns.rdatatype.to_text(question.rdtype)
            self.queries.append((name, rtype))
            how = self.misbehaving.get(name)
            if how == "silent":
                continue
            if how == "garbage":
                self.sock.sendto(data[:2] + b"\x81\x80\xff\xff garbage \x00\x01" * 3, peer)
                continue
            values = self.records.get((name, rtype))
            if values:
                response.answer.append(
                    dns.rrset.from_text_list(question.name, 300, "IN", rtype, values)
                )
            elif not any(key[0] == name for key in self.records):
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), peer)

    def start(self) -> "LoopbackDnsServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@contextmanager
def loopback_dns() -> Iterator[LoopbackDnsServer]:
    server = LoopbackDnsServer().start()
    try:
        yield server
    finally:
        server.stop()
