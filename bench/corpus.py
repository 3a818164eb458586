# ruff: noqa: RUF001  (the sample texts are non-ASCII on purpose)
"""A deterministic corpus of varied raw inbound messages for the inbound benchmark.

`generate_corpus(n, seed)` returns the same bytes for the same arguments on every machine: no
clock, no uuid, only `random.Random(seed)`. Messages are built from templates in the shapes
the fixture corpus covers (plain, HTML alternative, attachments, inline images, legacy
charsets, threaded replies, forwards), plus lightly varied copies of the fixtures themselves.
"""

from __future__ import annotations

import base64
import quopri
import random
from collections.abc import Callable
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "messages" / "tests" / "fixtures" / "eml"

_FIRST_NAMES = ["Alice", "Bob", "Chloé", "Dmitri", "Eva", "François", "Grace", "Hiro", "Ines"]
_LAST_NAMES = ["Example", "Müller", "Petrov", "Tanaka", "García", "O'Neil", "Smith", "Dupré"]
_DOMAINS = ["example.com", "example.org", "contoso.example", "mail.example.net", "example.de"]
_WORDS = (
    "invoice delivery webhook retry domain verification inbox thread reply forward quota "
    "billing schedule meeting report attachment customer support release deploy latency "
    "region bounce complaint signature template receipt order shipment refund account"
).split()
# (charset, sample text) pairs that the charset encodes exactly.
_CHARSET_TEXTS = [
    ("iso-8859-1", "Grüße aus Köln, le café crème coûte 3 £."),
    ("windows-1252", "The “pro” plan costs €199 – that’s per month…"),
    ("koi8-r", "Здравствуйте! Письма доходят отлично."),
    ("shift_jis", "お世話になっております。請求書を添付いたします。"),
    ("iso-8859-15", "El importe de 20 € es correcto, María."),
    ("gb2312", "您好，附件是发票。"),
    ("utf-8", "Ünïcödé ✓ 日本語 — ok"),
]


def generate_corpus(n: int = 200, seed: int = 1) -> list[bytes]:
    """`n` raw RFC 5322 messages, identical for identical arguments."""
    rng = random.Random(seed)
    fixtures = [path.read_bytes() for path in sorted(FIXTURES.glob("*.eml"))]
    builders: list[tuple[Callable[[random.Random, int], bytes], int]] = [
        (_plain, 20),
        (_alternative, 20),
        (_with_attachments, 12),
        (_inline_image, 8),
        (_legacy_charset, 10),
        (_reply, 15),
        (_forward_inline, 5),
        (_forward_attached, 5),
    ]
    choices = [builder for builder, _ in builders]
    weights = [weight for _, weight in builders]
    if fixtures:
        choices.append(lambda r, i: _fixture_variant(r, i, fixtures))
        weights.append(10)
    return [rng.choices(choices, weights)[0](rng, index) for index in range(n)]


# --------------------------------------------------------------------------------------------
# Pieces


def _person(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    local = f"{first}.{last}".lower().encode("ascii", "ignore").decode().replace("'", "")
    return f"{first} {last}", f"{local}@{rng.choice(_DOMAINS)}"


def _encoded_name(name: str) -> str:
    if name.isascii():
        return f'"{name}"'
    return f"=?utf-8?b?{base64.b64encode(name.encode()).decode()}?="


def _sentence(rng: random.Random, words: int) -> str:
    chosen = [rng.choice(_WORDS) for _ in range(words)]
    return " ".join(chosen).capitalize() + "."


def _paragraphs(rng: random.Random, count: int) -> str:
    return "\n\n".join(
        " ".join(_sentence(rng, rng.randint(6, 16)) for _ in range(rng.randint(1, 4)))
        for _ in range(count)
    )


def _b64(data: bytes) -> str:
    text = base64.b64encode(data).decode()
    return "\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def _qp(text: str, charset: str = "utf-8") -> str:
    return quopri.encodestring(text.encode(charset)).decode("ascii").replace("\n", "\r\n")


def _date(rng: random.Random) -> str:
    day = rng.randint(1, 28)
    hour, minute, second = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    zone = rng.choice(["+0000", "-0500", "+0100", "+0900", "-0800"])
    weekday = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][day % 7]
    return f"{weekday}, {day:02d} Nov 2023 {hour:02d}:{minute:02d}:{second:02d} {zone}"


def _headers(rng: random.Random, index: int, subject: str, extra: str = "") -> str:
    sender_name, sender = _person(rng)
    recipient = (
        f"inbox+{rng.choice(_WORDS)}@sendook.dev" if rng.random() < 0.3 else ("inbox@sendook.dev")
    )
    return (
        f"Received: from mx{index % 7}.example.net by inbound.sendook.dev with ESMTPS id "
        f"{rng.getrandbits(48):012x};\r\n {_date(rng)}\r\n"
        "Authentication-Results: inbound.sendook.dev; spf=pass smtp.mailfrom="
        f"{sender.split('@')[1]};\r\n dkim={rng.choice(['pass', 'pass', 'fail', 'none'])}"
        f" header.d={sender.split('@')[1]}; dmarc={rng.choice(['pass', 'none'])}\r\n"
        f"X-SES-Spam-Verdict: {rng.choice(['PASS', 'PASS', 'FAIL'])}\r\n"
        "X-SES-Virus-Verdict: PASS\r\n"
        f"From: {_encoded_name(sender_name)} <{sender}>\r\n"
        f"To: Sendook Inbox <{recipient}>\r\n"
        f"Subject: {subject}\r\n"
        f"Date: {_date(rng)}\r\n"
        f"Message-ID: <bench-{index}-{rng.getrandbits(64):016x}@{sender.split('@')[1]}>\r\n"
        f"{extra}"
        "MIME-Version: 1.0\r\n"
    )


def _subject(rng: random.Random) -> str:
    subject = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 7))).capitalize()
    if rng.random() < 0.2:
        subject += " — " + rng.choice(["Grüße", "café", "日本語", "Привет"])
        return f"=?utf-8?b?{base64.b64encode(subject.encode()).decode()}?="
    return subject


def _html(text: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in text.split("\n\n"))
    return (
        "<html><head><style>p{margin:0 0 1em}</style></head><body>"
        f'<div dir="ltr">{paragraphs}</div></body></html>'
    )


# --------------------------------------------------------------------------------------------
# Message shapes


def _plain(rng: random.Random, index: int) -> bytes:
    body = _paragraphs(rng, rng.randint(1, 8))
    return (
        _headers(rng, index, _subject(rng))
        + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
        + body.replace("\n", "\r\n")
        + "\r\n"
    ).encode()


def _alternative(rng: random.Random, index: int) -> bytes:
    text = _paragraphs(rng, rng.randint(1, 10))
    boundary = f"alt-{rng.getrandbits(64):016x}"
    return (
        _headers(rng, index, _subject(rng))
        + f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
        + f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        + f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{_qp(text)}\r\n"
        + f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n"
        + f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{_qp(_html(text))}\r\n"
        + f"--{boundary}--\r\n"
    ).encode()


def _attachment_part(rng: random.Random, boundary: str, index: int) -> str:
    kind = rng.choice(["pdf", "png", "csv", "zip"])
    size = rng.choice([2_000, 8_000, 30_000, 120_000, 300_000])
    content_type = {
        "pdf": "application/pdf",
        "png": "image/png",
        "csv": "text/csv",
        "zip": "application/zip",
    }[kind]
    filename = f"{rng.choice(_WORDS)}-{index}.{kind}"
    disposition = f'attachment; filename="{filename}"'
    if rng.random() < 0.25:
        disposition = f"attachment; filename*=utf-8''r%C3%A9sum%C3%A9-{index}.{kind}"
    return (
        f'--{boundary}\r\nContent-Type: {content_type}; name="{filename}"\r\n'
        f"Content-Disposition: {disposition}\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{_b64(rng.randbytes(size))}\r\n"
    )


def _with_attachments(rng: random.Random, index: int) -> bytes:
    boundary = f"mixed-{rng.getrandbits(64):016x}"
    body = _paragraphs(rng, rng.randint(1, 3))
    attachments = "".join(
        _attachment_part(rng, boundary, number) for number in range(rng.randint(1, 4))
    )
    return (
        _headers(rng, index, _subject(rng))
        + f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        + f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + body.replace("\n", "\r\n")
        + "\r\n"
        + attachments
        + f"--{boundary}--\r\n"
    ).encode()


def _inline_image(rng: random.Random, index: int) -> bytes:
    related = f"rel-{rng.getrandbits(64):016x}"
    text = _paragraphs(rng, rng.randint(1, 4))
    content_id = f"image{index:03d}.png@{rng.getrandbits(32):08X}"
    html = _html(text).replace("</body>", f'<img src="cid:{content_id}"></body>')
    return (
        _headers(rng, index, _subject(rng))
        + f'Content-Type: multipart/related; boundary="{related}"; type="text/html"\r\n\r\n'
        + f"--{related}\r\nContent-Type: text/html; charset=utf-8\r\n"
        + f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{_qp(html)}\r\n"
        + f'--{related}\r\nContent-Type: image/png; name="image{index:03d}.png"\r\n'
        + f"Content-ID: <{content_id}>\r\nContent-Disposition: inline\r\n"
        + f"Content-Transfer-Encoding: base64\r\n\r\n{_b64(rng.randbytes(rng.choice([800, 15_000, 60_000])))}\r\n"
        + f"--{related}--\r\n"
    ).encode()


def _legacy_charset(rng: random.Random, index: int) -> bytes:
    charset, sample = rng.choice(_CHARSET_TEXTS)
    body = "\n\n".join([sample, _paragraphs(rng, rng.randint(1, 3)), sample])
    encoded_subject = base64.b64encode(sample[:20].encode(charset)).decode()
    headers = _headers(rng, index, f"=?{charset}?B?{encoded_subject}?=")
    transfer = rng.choice(["8bit", "quoted-printable", "base64"])
    raw_body = body.replace("\n", "\r\n").encode(charset)
    if transfer == "quoted-printable":
        raw_body = quopri.encodestring(raw_body)
    elif transfer == "base64":
        raw_body = _b64(raw_body).encode()
    return (
        headers.encode()
        + f"Content-Type: text/plain; charset={charset}\r\n".encode()
        + f"Content-Transfer-Encoding: {transfer}\r\n\r\n".encode()
        + raw_body
        + b"\r\n"
    )


_QUOTE_STYLES = ["gmail", "outlook", "apple", "thunderbird", "original"]


def _reply(rng: random.Random, index: int) -> bytes:
    earlier = [f"<thread-{rng.getrandbits(40):010x}@sendook.dev>" for _ in range(rng.randint(1, 6))]
    extra = f"In-Reply-To: {earlier[-1]}\r\nReferences: {' '.join(earlier)}\r\n"
    new = _paragraphs(rng, rng.randint(1, 3))
    old = _paragraphs(rng, rng.randint(1, 5))
    name, address = _person(rng)
    style = rng.choice(_QUOTE_STYLES)
    quoted = "\n".join(f"> {line}" if line else ">" for line in old.split("\n"))
    if style == "gmail":
        history = f"On Tue, Nov 21, 2023 at 10:02 AM {name} <{address}>\nwrote:\n\n{quoted}"
    elif style == "apple":
        history = f"> On Nov 21, 2023, at 18:02, {name} <{address}> wrote:\n>\n{quoted}"
    elif style == "thunderbird":
        history = f"-- \n{name}\n\nOn 11/20/23 5:30 PM, {name} wrote:\n{quoted}"
    elif style == "outlook":
        history = (
            f"________________________________\nFrom: {name} <{address}>\n"
            f"Sent: Monday, November 20, 2023 4:12 PM\nTo: Sendook\nSubject: Hello\n\n{old}"
        )
    else:
        history = f"-----Original Message-----\nFrom: {name}\nSent: Friday\n\n{old}"
    body = f"{new}\n\n{history}\n"
    subject = rng.choice(["Re: ", "RE: ", "Re: Re: ", "AW: ", "Re[2]: "]) + _subject(rng)
    return (
        _headers(rng, index, subject, extra)
        + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
        + "quoted-printable\r\n\r\n"
        + _qp(body)
        + "\r\n"
    ).encode()


def _forward_inline(rng: random.Random, index: int) -> bytes:
    name, address = _person(rng)
    body = (
        f"{_sentence(rng, 8)}\n\n---------- Forwarded message ---------\n"
        f"From: {name} <{address}>\nDate: Tue, Nov 21, 2023 at 4:00 PM\nSubject: Hello\n\n"
        f"{_paragraphs(rng, rng.randint(1, 4))}\n"
    )
    return (
        _headers(rng, index, "Fwd: " + _subject(rng))
        + "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        + body.replace("\n", "\r\n")
    ).encode()


def _forward_attached(rng: random.Random, index: int) -> bytes:
    boundary = f"fwd-{rng.getrandbits(64):016x}"
    inner = _alternative(rng, index + 1_000_000)
    return (
        _headers(rng, index, "Fwd: " + _subject(rng)).encode()
        + f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode()
        + f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n".encode()
        + _sentence(rng, 10).encode()
        + f"\r\n--{boundary}\r\nContent-Type: message/rfc822\r\n".encode()
        + b"Content-Disposition: attachment\r\n\r\n"
        + inner
        + f"\r\n--{boundary}--\r\n".encode()
    )


def _fixture_variant(rng: random.Random, index: int, fixtures: list[bytes]) -> bytes:
    raw = rng.choice(fixtures)
    # A fresh Message-ID keeps every corpus message distinct for deduplicating receivers.
    lines = raw.split(b"\n")
    fresh = b"Message-ID: <bench-fixture-%d-%x@sendook.dev>" % (index, rng.getrandbits(48))
    for number, line in enumerate(lines):
        if line.lower().startswith(b"message-id:"):
            lines[number] = fresh + (b"\r" if line.endswith(b"\r") else b"")
            return b"\n".join(lines)
    return fresh + b"\r\n" + raw
