import ipaddress
import random
import socket

import pytest

from webhooks.ssrf import PRIVATE_REASONS, UnsafeUrlError, check_url, classify, parse_ipv4

# Names are answered here, never by real DNS.
DNS = {
    "localhost": ["127.0.0.1", "::1"],
    "internal.example.test": ["10.0.0.5"],
    "mixed.example.test": ["93.184.216.34", "10.0.0.6"],
    "public.example.test": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
    "mapped.example.test": ["::ffff:10.0.0.1"],
    "metadata-alias.example.test": ["169.254.169.254"],
    "cgnat.example.test": ["100.64.3.3"],
}


class FakeResolver:
    def __init__(self, answers: dict[str, list[str]] | None = None) -> None:
        self.answers = DNS if answers is None else answers
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]


LOOPBACK = "loopback_address"
PRIVATE = "private_address"
CGNAT = "cgnat_address"
METADATA = "metadata_address"
LINK_LOCAL = "link_local_address"
UNSPECIFIED = "unspecified_address"
MULTICAST = "multicast_address"
RESERVED = "reserved_address"

# url, reason with allow_private=False, reason with allow_private=True (None: allowed)
TABLE = [
    ("http://2130706433/", LOOPBACK, None),
    ("http://0x7f000001/", LOOPBACK, None),
    ("http://0177.0.0.1/", LOOPBACK, None),
    ("http://127.1/", LOOPBACK, None),
    ("http://127.0.0.1./", LOOPBACK, None),
    ("http://127.255.255.254:8080/", LOOPBACK, None),
    ("http://[::1]/", LOOPBACK, None),
    ("http://[::ffff:127.0.0.1]/", LOOPBACK, None),
    ("http://[::ffff:7f00:1]/", LOOPBACK, None),
    ("http://[64:ff9b::7f00:1]/", LOOPBACK, None),
    ("http://[2002:7f00:1::]/", LOOPBACK, None),
    ("http://\uff11\uff12\uff17.0.0.1/", LOOPBACK, None),  # full-width digits
    ("http://localhost/", LOOPBACK, None),
    ("http://LocalHost./", LOOPBACK, None),
    ("http://api.localhost/", LOOPBACK, "unresolvable"),
    ("http://169.254.169.254/latest/meta-data/", METADATA, METADATA),
    ("http://[fd00:ec2::254]/", METADATA, METADATA),
    ("http://100.100.100.200/", METADATA, METADATA),
    ("http://[::ffff:169.254.169.254]/", METADATA, METADATA),
    ("http://[64:ff9b::a9fe:a9fe]/", METADATA, METADATA),
    ("http://0xa9fea9fe/", METADATA, METADATA),
    ("http://metadata.google.internal/computeMetadata/v1/", METADATA, METADATA),
    ("http://metadata-alias.example.test/", METADATA, METADATA),
    ("http://169.254.10.20/", LINK_LOCAL, LINK_LOCAL),
    ("http://[fe80::1]/", LINK_LOCAL, LINK_LOCAL),
    ("http://[fe80::1%25eth0]/", LINK_LOCAL, LINK_LOCAL),
    ("http://0.0.0.0/", UNSPECIFIED, UNSPECIFIED),
    ("http://0/", UNSPECIFIED, UNSPECIFIED),
    ("http://[::]/", UNSPECIFIED, UNSPECIFIED),
    ("http://224.0.0.1/", MULTICAST, MULTICAST),
    ("http://[ff02::1]/", MULTICAST, MULTICAST),
    ("http://255.255.255.255/", RESERVED, RESERVED),
    ("http://240.0.0.1/", RESERVED, RESERVED),
    ("http://[4000::1]/", RESERVED, RESERVED),
    ("http://10.0.0.1/", PRIVATE, None),
    ("http://172.16.5.4/", PRIVATE, None),
    ("http://192.168.1.1/", PRIVATE, None),
    ("http://[fc00::1]/", PRIVATE, None),
    ("http://[fd12:3456::1]/", PRIVATE, None),
    ("http://198.18.0.1/", PRIVATE, None),
    ("http://192.0.0.8/", PRIVATE, None),
    ("http://192.0.2.1/", PRIVATE, None),
    ("http://[2001:db8::1]/", PRIVATE, None),
    ("http://100.64.0.1/", CGNAT, None),
    ("http://cgnat.example.test/", CGNAT, None),
    ("http://internal.example.test/hook", PRIVATE, None),
    ("http://mixed.example.test/", PRIVATE, None),
    ("http://mapped.example.test/", PRIVATE, None),
    ("http://8.8.8.8/", None, None),
    ("https://8.8.8.8:8443/hooks?x=1", None, None),
    ("http://[2606:4700:4700::1111]/", None, None),
    ("http://[::ffff:8.8.8.8]/", None, None),
    ("https://public.example.test/", None, None),
    ("ftp://8.8.8.8/", "bad_scheme", "bad_scheme"),
    ("file:///etc/passwd", "bad_scheme", "bad_scheme"),
    ("javascript:alert(1)", "bad_scheme", "bad_scheme"),
    ("gopher://8.8.8.8:25/", "bad_scheme", "bad_scheme"),
    ("//8.8.8.8/", "bad_scheme", "bad_scheme"),
    ("http://user:pass@8.8.8.8/", "credentials_in_url", "credentials_in_url"),
    ("http://user@8.8.8.8/", "credentials_in_url", "credentials_in_url"),
    ("http://evil.test\\@127.0.0.1/", "credentials_in_url", "credentials_in_url"),
    ("http:///hooks", "no_host", "no_host"),
    ("http://nowhere.example.test/", "unresolvable", "unresolvable"),
    ("http://1.2.3.256/", "bad_url", "bad_url"),
    ("http://8.8.8.8:99999/", "bad_url", "bad_url"),
    ("http://8.8.8.8/a b", "bad_url", "bad_url"),
    ("http://8.8.8.8/\r\nX-Injected: 1", "bad_url", "bad_url"),
]


@pytest.mark.parametrize(("url", "strict", "lenient"), TABLE, ids=[row[0] for row in TABLE])
def test_url_is_allowed_or_refused_with_a_stable_reason(url, strict, lenient):
    for allow_private, expected in ((False, strict), (True, lenient)):
        resolver = FakeResolver()
        if expected is None:
            addresses = check_url(url, allow_private=allow_private, resolver=resolver)
            assert addresses, url
        else:
            with pytest.raises(UnsafeUrlError) as refused:
                check_url(url, allow_private=allow_private, resolver=resolver)
            assert refused.value.reason == expected, (url, allow_private, str(refused.value))


def test_table_covers_at_least_thirty_address_forms():
    assert len(TABLE) >= 30


def test_numeric_ipv4_forms_connect_to_the_address_the_resolver_would_use():
    for host in ("2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.0.0.1", "127.0.1"):
        assert check_url(f"http://{host}:8080/", allow_private=True) == [("127.0.0.1", 8080)]
        assert str(parse_ipv4(host)) == socket.inet_ntoa(socket.inet_aton(host))


def test_ip_literals_are_never_sent_to_the_resolver():
    resolver = FakeResolver()
    check_url("http://8.8.8.8/", resolver=resolver)
    check_url("http://[2606:4700:4700::1111]/", resolver=resolver)
    assert resolver.calls == []


def test_names_are_resolved_once_with_the_url_port_and_every_answer_is_returned():
    resolver = FakeResolver()
    addresses = check_url("https://public.example.test/hooks", resolver=resolver)
    assert resolver.calls == [("public.example.test", 443)]
    assert addresses == [
        ("93.184.216.34", 443),
        ("2606:2800:220:1:248:1893:25c8:1946", 443),
    ]


def test_default_ports_follow_the_scheme():
    assert check_url("http://8.8.8.8") == [("8.8.8.8", 80)]
    assert check_url("https://8.8.8.8") == [("8.8.8.8", 443)]


def test_ipv4_mapped_address_is_returned_as_plain_ipv4():
    assert check_url("http://[::ffff:8.8.8.8]/") == [("8.8.8.8", 80)]


def test_one_private_answer_among_public_ones_refuses_the_whole_name():
    with pytest.raises(UnsafeUrlError) as refused:
        check_url("http://mixed.example.test/", resolver=FakeResolver())
    assert "10.0.0.6" in str(refused.value)
    assert "mixed.example.test" in str(refused.value)


def test_refusal_message_names_the_ipv4_inside_an_ipv6_form():
    with pytest.raises(UnsafeUrlError) as refused:
        check_url("http://[64:ff9b::7f00:1]/")
    assert "127.0.0.1" in str(refused.value)
    assert "loopback" in str(refused.value)


def test_resolver_answering_with_garbage_is_unresolvable():
    with pytest.raises(UnsafeUrlError) as refused:
        check_url("http://odd.example.test/", resolver=FakeResolver({"odd.example.test": ["x"]}))
    assert refused.value.reason == "unresolvable"


def test_resolver_answering_nothing_is_unresolvable():
    with pytest.raises(UnsafeUrlError) as refused:
        check_url("http://empty.example.test/", resolver=FakeResolver({"empty.example.test": []}))
    assert refused.value.reason == "unresolvable"


def test_unsafe_url_error_is_a_value_error():
    with pytest.raises(ValueError, match="only http and https"):
        check_url("ftp://8.8.8.8/")


def test_any_input_is_either_vetted_or_refused_with_unsafe_url_error():
    # A seeded fuzz over the characters that make URL parsers disagree.
    rng = random.Random(20260101)
    prefixes = [
        "http://",
        "https://",
        "HTTP://",
        "ftp://",
        "http:",
        "//",
        "",
        "http://9",
        "http://[2606:",
    ]
    alphabet = "[]:@.%0123456789abcdefx\\/ -_#?\u00a0\uff11\uff17"
    for _ in range(3000):
        url = rng.choice(prefixes) + "".join(rng.choices(alphabet, k=rng.randint(0, 24)))
        try:
            addresses = check_url(url, allow_private=True, resolver=FakeResolver({}))
        except UnsafeUrlError as refused:
            assert refused.reason, url
        else:
            assert addresses, url
            for ip, _ in addresses:
                assert classify(ipaddress.ip_address(ip)) in PRIVATE_REASONS | {None}, url
