"""Refuse webhook URLs that would make Sendook's servers call into private networks (SSRF).

`check_url` parses the URL, resolves its host once and vets every address it resolves to. The
caller then connects to exactly the returned addresses, so a DNS answer that changes between the
check and the connection (DNS rebinding) cannot smuggle in an internal address.

Host names are read the way the C resolver would read them, so the check and the connection
agree: "2130706433", "0x7f000001", "0177.0.0.1" and "127.1" are all 127.0.0.1 (inet_aton rules),
a trailing dot is ignored, "[::ffff:127.0.0.1]" is 127.0.0.1, and IDNA maps full-width digits to
ASCII. A host whose last label is numeric but is not a valid IPv4 address ("1.2.3.256") is
refused as malformed rather than handed to DNS, as browsers do.

Address policy, first match wins (our own tables, so results do not drift between Python
versions whose `ipaddress.is_global` disagree):

Always refused
  metadata_address     169.254.169.254, 100.100.100.200 (Alibaba), 168.63.129.16 (Azure
                       wire server), fd00:ec2::254, and the names metadata.google.internal,
                       metadata.goog, metadata
  unspecified_address  0.0.0.0/8 (Linux connects 0.0.0.0 to itself), ::
  link_local_address   169.254.0.0/16, fe80::/10
  multicast_address    224.0.0.0/4, ff00::/8
  reserved_address     240.0.0.0/4, 255.255.255.255, 100::/64 (discard-only), and any IPv6
                       address outside 2000::/3 not matched elsewhere (unallocated space)
Refused unless allow_private=True (a self-hosted install may post to a receiver on its LAN)
  loopback_address     127.0.0.0/8, ::1, the name localhost and *.localhost
  private_address      10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10, and the other
                       non-global special-purpose ranges: 192.0.0.0/24 (IETF protocol
                       assignments), 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and
                       2001:db8::/32 (documentation), 198.18.0.0/15 (benchmarking labs),
                       192.88.99.0/24 (retired 6to4 relays), 2001::/23 (IETF protocol
                       assignments, includes Teredo), 64:ff9b:1::/48 (local-use NAT64)
  cgnat_address        100.64.0.0/10
IPv6 forms carrying an IPv4 address (::ffff:a.b.c.d mapped, ::a.b.c.d compatible,
::ffff:0:a.b.c.d translated, 64:ff9b::/96 NAT64, 2002::/16 6to4) get the verdict of the IPv4
address inside. Everything else is allowed.

Reasons beyond the ones a caller must know: "bad_url" for a URL that cannot be parsed safely
(bad port, whitespace or control characters, an unusable host name).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"http": 80, "https": 443}

# Reasons that allow_private=True lifts; every other reason is final.
PRIVATE_REASONS = frozenset({"loopback_address", "private_address", "cgnat_address"})

_DESCRIPTIONS = {
    "metadata_address": "a cloud metadata address",
    "unspecified_address": "an unspecified address",
    "link_local_address": "a link-local address",
    "multicast_address": "a multicast address",
    "reserved_address": "a reserved address",
    "loopback_address": "a loopback address",
    "private_address": "a private or non-global address",
    "cgnat_address": "a carrier-grade NAT address",
}

_METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})


def _v4(cidr: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(cidr)


def _v6(cidr: str) -> ipaddress.IPv6Network:
    return ipaddress.IPv6Network(cidr)


_IPV4_RULES: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_v4("169.254.169.254/32"), "metadata_address"),
    (_v4("100.100.100.200/32"), "metadata_address"),
    (_v4("168.63.129.16/32"), "metadata_address"),
    (_v4("0.0.0.0/8"), "unspecified_address"),
    (_v4("169.254.0.0/16"), "link_local_address"),
    (_v4("224.0.0.0/4"), "multicast_address"),
    (_v4("240.0.0.0/4"), "reserved_address"),  # includes 255.255.255.255 (broadcast)
    (_v4("127.0.0.0/8"), "loopback_address"),
    (_v4("10.0.0.0/8"), "private_address"),
    (_v4("172.16.0.0/12"), "private_address"),
    (_v4("192.168.0.0/16"), "private_address"),
    (_v4("192.0.0.0/24"), "private_address"),
    (_v4("192.0.2.0/24"), "private_address"),
    (_v4("198.51.100.0/24"), "private_address"),
    (_v4("203.0.113.0/24"), "private_address"),
    (_v4("198.18.0.0/15"), "private_address"),
    (_v4("192.88.99.0/24"), "private_address"),
    (_v4("100.64.0.0/10"), "cgnat_address"),
)

_IPV6_RULES: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_v6("fd00:ec2::254/128"), "metadata_address"),
    (_v6("::/128"), "unspecified_address"),
    (_v6("::1/128"), "loopback_address"),
    (_v6("fe80::/10"), "link_local_address"),
    (_v6("ff00::/8"), "multicast_address"),
    (_v6("100::/64"), "reserved_address"),
    (_v6("fc00::/7"), "private_address"),
    (_v6("fec0::/10"), "private_address"),
    (_v6("2001:db8::/32"), "private_address"),
    (_v6("2001::/23"), "private_address"),
    (_v6("64:ff9b:1::/48"), "private_address"),
)

_GLOBAL_UNICAST_V6 = _v6("2000::/3")
_NAT64 = _v6("64:ff9b::/96")
_IPV4_COMPATIBLE = _v6("::/96")
_IPV4_TRANSLATED = _v6("::ffff:0:0:0/96")

_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")
_FORBIDDEN_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")


class UnsafeUrlError(ValueError):
    """A webhook URL Sendook refuses to call; `reason` is a stable snake_case code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class UrlParts:
    """The pieces of a webhook URL as Sendook will use them on the wire."""

    scheme: str  # "http" or "https"
    host: str  # lower-case ASCII; canonical address text for IP literals, no trailing dot
    port: int
    target: str  # request target: path and query, percent-encoded ASCII
    ip: IPAddress | None  # set when the host is an IP literal

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if isinstance(self.ip, ipaddress.IPv6Address) else self.host
        if self.port == DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class VettedUrl:
    parts: UrlParts
    addresses: list[tuple[str, int]]  # connect to these and nothing else


def check_url(
    url: str, *, allow_private: bool = False, resolver: Resolver | None = None
) -> list[tuple[str, int]]:
    """Return the (ip, port) pairs `url` may be delivered to, or raise UnsafeUrlError."""
    return vet_url(url, allow_private=allow_private, resolver=resolver).addresses


def vet_url(
    url: str, *, allow_private: bool = False, resolver: Resolver | None = None
) -> VettedUrl:
    """Like `check_url`, also returning the parsed URL so the connection uses the same reading."""
    parts = split_url(url)
    if parts.ip is not None:
        ips: list[IPAddress] = [parts.ip]
    else:
        _check_name(parts.host, allow_private=allow_private)
        ips = _resolve(parts.host, parts.port, resolver or _getaddrinfo)
    addresses: list[tuple[str, int]] = []
    for ip in ips:
        connect_to = _check_ip(ip, allow_private=allow_private, host=parts.host)
        if (connect_to, parts.port) not in addresses:
            addresses.append((connect_to, parts.port))
    return VettedUrl(parts=parts, addresses=addresses)


def split_url(url: str) -> UrlParts:
    """Parse a webhook URL, refusing anything a client could read two ways."""
    if _FORBIDDEN_URL_CHARS.search(url):
        raise UnsafeUrlError("bad_url", "URL contains whitespace or control characters")
    try:
        split = urlsplit(url)
    except ValueError as exc:
        raise UnsafeUrlError("bad_url", f"URL cannot be parsed: {exc}") from None
    scheme = split.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        shown = f"{scheme}:" if scheme else "no scheme"
        raise UnsafeUrlError("bad_scheme", f"only http and https URLs are allowed, not {shown}")
    netloc = split.netloc
    if "@" in netloc:
        raise UnsafeUrlError("credentials_in_url", "URL must not contain a user name or password")
    raw_host = split.hostname or ""
    if not raw_host:
        raise UnsafeUrlError("no_host", "URL has no host")
    try:
        port = split.port
    except ValueError:
        raise UnsafeUrlError("bad_url", "URL has an invalid port") from None
    if port is None:
        port = DEFAULT_PORTS[scheme]
    elif port == 0:
        raise UnsafeUrlError("bad_url", "URL has an invalid port")

    host, ip = _normalize_host(raw_host, bracketed=netloc.startswith("["))
    path = split.path or "/"
    target = path + (f"?{split.query}" if split.query else "")
    # Keep existing %-escapes and reserved characters; encode only what HTTP cannot carry.
    target = quote(target, safe="/%:@!$&'()*+,;=?-._~")
    return UrlParts(scheme=scheme, host=host, port=port, target=target, ip=ip)


def _normalize_host(raw_host: str, *, bracketed: bool) -> tuple[str, IPAddress | None]:
    if bracketed or ":" in raw_host:
        try:
            ip6 = ipaddress.IPv6Address(raw_host)
        except ValueError:
            raise UnsafeUrlError("bad_url", f"{raw_host!r} is not a valid IPv6 address") from None
        if ip6.scope_id and not ip6.is_link_local:
            raise UnsafeUrlError("bad_url", "IPv6 zone ids are only meaningful on link-local")
        return str(ip6), ip6

    try:
        host = raw_host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeUrlError("bad_url", f"{raw_host!r} is not a valid host name") from None
    host = host.removesuffix(".")
    if not host or len(host) > 253 or not _HOST_NAME.fullmatch(host):
        raise UnsafeUrlError("bad_url", f"{raw_host!r} is not a valid host name")

    if _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        ip4 = parse_ipv4(host)
        if ip4 is None:
            raise UnsafeUrlError("bad_url", f"{raw_host!r} is not a valid IPv4 address")
        return str(ip4), ip4
    return host, None


def parse_ipv4(text: str) -> ipaddress.IPv4Address | None:
    """Read `text` as inet_aton does: 1-4 dotted parts, each decimal, 0x-hex or 0-octal.

    The last part fills the remaining bytes, so "127.1" is 127.0.0.1 and "2130706433" is too.
    Returns None for anything else.
    """
    labels = text.lower().split(".")
    if not 1 <= len(labels) <= 4 or not all(_NUMERIC_LABEL.fullmatch(label) for label in labels):
        return None
    numbers: list[int] = []
    for label in labels:
        if label.startswith("0x"):
            numbers.append(int(label[2:] or "0", 16))
        elif len(label) > 1 and label.startswith("0"):
            if not set(label) <= set("01234567"):
                return None
            numbers.append(int(label, 8))
        else:
            numbers.append(int(label, 10))
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for index, number in enumerate(leading):
        value |= number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _check_name(host: str, *, allow_private: bool) -> None:
    if host in _METADATA_NAMES:
        raise UnsafeUrlError("metadata_address", f"{host} is a cloud metadata service")
    if (host == "localhost" or host.endswith(".localhost")) and not allow_private:
        raise UnsafeUrlError("loopback_address", f"{host} is a loopback name")


def _getaddrinfo(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _resolve(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    try:
        answers = resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrlError("unresolvable", f"{host} does not resolve: {exc}") from None
    ips: list[IPAddress] = []
    for answer in answers:
        try:
            ips.append(ipaddress.ip_address(answer))
        except ValueError:
            raise UnsafeUrlError(
                "unresolvable", f"{host} resolved to {answer!r}, which is not an address"
            ) from None
    if not ips:
        raise UnsafeUrlError("unresolvable", f"{host} does not resolve to any address")
    return ips


def classify(ip: IPAddress) -> str | None:
    """Return the refusal reason for `ip` under the policy above, or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return classify(embedded)
        for network6, reason in _IPV6_RULES:
            if ip in network6:
                return reason
        return None if ip in _GLOBAL_UNICAST_V6 else "reserved_address"
    for network4, reason in _IPV4_RULES:
        if ip in network4:
            return reason
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _IPV4_TRANSLATED:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are themselves, not IPv4
        return ipaddress.IPv4Address(int(ip))
    return None


def _check_ip(ip: IPAddress, *, allow_private: bool, host: str) -> str:
    """Return the address text to connect to, or raise if `ip` is refused."""
    reason = classify(ip)
    if reason is not None and not (allow_private and reason in PRIVATE_REASONS):
        shown = str(ip)
        if isinstance(ip, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(ip)):
            shown = f"{ip} (IPv4 {embedded})"
        source = "" if host == str(ip) else f"; {host} resolves to it"
        raise UnsafeUrlError(reason, f"{shown} is {_DESCRIPTIONS[reason]}{source}")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        # The kernel sends ::ffff:a.b.c.d over IPv4 anyway; say so plainly.
        return str(ip.ipv4_mapped)
    return str(ip)
