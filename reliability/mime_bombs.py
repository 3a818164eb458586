"""Reliability 5: MIME bombs and hostile input through every way in.

Each hostile message (deep nesting, part floods, header floods, a megabyte header line, an
encoded-word flood, an RFC 2231 continuation flood, a compressible base64 attachment, a million
one-byte lines, unterminated multipart, NUL and non-UTF-8 bytes, an empty message, plus one
benign control) goes in three ways:
  * SNS: a signed SES "Received" notification POSTed to /webhooks/ses on gunicorn (2 workers),
    parsed by a real Celery worker (concurrency 1);
  * SMTP: smtplib to `manage.py smtpd` on a random loopback port, parsed by the same worker;
  * CLI: `manage.py receive_email --to ADDR < message`, which parses in its own process.
One at a time, so each record's time from arrival to processed/quarantined is its own.

Figures: worker crashes (the worker or a pool child gone, a WorkerLostError; target 0), records
not finished or quarantined within SENDOOK_INBOUND_PARSE_SECONDS + 5 s (target 0; a refusal at
the door — 413, SMTP 552 — counts as finished), CLI crashes (a traceback or a non-zero exit;
target 0), and the worker's peak RSS (pool main + children, sampled every 50 ms; target below
RELIABILITY_MAX_RSS_MIB, default 512).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from reliability import common

PARSE_SECONDS = 10.0
MAX_RSS_MIB = int(os.environ.get("RELIABILITY_MAX_RSS_MIB", "512"))


def head(to: str, subject: str, extra: str = "") -> bytes:
    return (
        f"From: attacker@example.org\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{time.time_ns()}@example.org>\r\nMIME-Version: 1.0\r\n{extra}"
    ).encode()


def corpus(to: str) -> dict[str, bytes]:
    bombs: dict[str, bytes] = {}
    bombs["benign"] = head(to, "control") + b"Content-Type: text/plain\r\n\r\nHello.\r\n"
    # 2,000 nested multiparts.
    depth = 2000
    body = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        for i in range(depth)
    )
    body += b"Content-Type: text/plain\r\n\r\ndeep\r\n" + b"".join(
        b"--b%d--\r\n" % i for i in reversed(range(depth))
    )
    bombs["deep_nesting"] = head(to, "deep") + body
    # 50,000 parts.
    parts = b"".join(b"--p\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(50_000))
    bombs["part_flood"] = (
        head(to, "parts", "Content-Type: multipart/mixed; boundary=p\r\n")
        + b"\r\n"
        + parts
        + b"--p--\r\n"
    )
    # 100,000 headers.
    bombs["header_flood"] = (
        head(to, "headers")
        + b"".join(b"X-H%d: v\r\n" % i for i in range(100_000))
        + b"\r\nbody\r\n"
    )
    # One 4 MB header line.
    bombs["long_header"] = head(to, "long", "X-Long: " + "a" * 4_000_000 + "\r\n") + b"\r\nbody\r\n"
    # 200,000 encoded words in the subject (folded).
    words = "\r\n ".join(
        "=?utf-8?b?" + base64.b64encode("ü".encode()).decode() + "?=" for _ in range(200_000)
    )
    bombs["encoded_word_flood"] = head(to, words) + b"\r\nbody\r\n"
    # 15 MB of zeros as a base64 attachment (20 MB on the wire; compresses to nothing).
    zeros = base64.encodebytes(b"\0" * 15_000_000).replace(b"\n", b"\r\n")
    bombs["base64_zeros"] = (
        head(to, "zeros", "Content-Type: multipart/mixed; boundary=z\r\n")
        + b"\r\n--z\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        + b"--z\r\nContent-Type: application/octet-stream; name=z.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + zeros
        + b"--z--\r\n"
    )
    # A million one-byte lines.
    bombs["line_flood"] = (
        head(to, "lines", "Content-Type: text/plain\r\n") + b"\r\n" + b"x\r\n" * 1_000_000
    )
    bombs["unterminated_multipart"] = (
        head(to, "open", "Content-Type: multipart/mixed; boundary=never\r\n")
        + b"\r\n--never\r\nContent-Type: text/html\r\n\r\n<p>"
        + b"<b>" * 100_000
    )
    bombs["nul_and_garbage"] = (
        head(
            to,
            "garbage\0\xff",
            "Content-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: quoted-printable\r\n",
        )
        + b"\r\n\0\xff\xfe=ZZ=\r\n" * 1000
    )
    bombs["empty"] = b""
    # RFC 2231 filename continuations, 100,000 segments.
    params = "".join(
        f";\r\n filename*{i}*=utf-8''a%C3%BC" if i == 0 else f";\r\n filename*{i}*=a%C3%BC"
        for i in range(100_000)
    )
    bombs["rfc2231_flood"] = (
        head(to, "2231", "Content-Type: multipart/mixed; boundary=z\r\n")
        + b"\r\n--z\r\nContent-Type: application/octet-stream"
        + params.encode()
        + b"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--z--\r\n"
    )
    return bombs


class Progress(list):
    def append(self, line: str) -> None:  # type: ignore[override]
        super().append(line)
        print("  " + line, flush=True)


class RssSampler(threading.Thread):
    def __init__(self, worker: common.Worker) -> None:
        super().__init__(daemon=True)
        self.worker, self.peak_kib, self.running = worker, 0, True

    def run(self) -> None:
        while self.running:
            self.peak_kib = max(
                self.peak_kib, sum(common.rss_kib(pid) for pid in self.worker.pids())
            )
            time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated bomb names")
    args = parser.parse_args()
    with common.own_redis():
        return run(args)


def run(args: argparse.Namespace) -> int:
    from messages.tests.inbound.ses.sns_testing import build_notification, sign_sns_message

    with common.signed_sns_endpoint(
        SENDOOK_INBOUND_PARSE_SECONDS=str(PARSE_SECONDS),
        # SES inlines up to 150 KB in SNS; allow big bodies here so the bombs reach the parser.
        SENDOOK_SNS_MAX_BODY_BYTES=str(40 * 1024 * 1024),
    ) as pki:
        common.setup_django()
        from inboxes.models import Inbox, Organization
        from messages.models import InboundEmail

        run_id = time.time_ns()
        organization = Organization.objects.create(name=f"reliability-bombs-{run_id}")
        address = f"bombs-{run_id}@sendook.localhost"
        Inbox.objects.create(organization=organization, email=address, name="Bombs")
        bombs = corpus(address)
        if args.only:
            bombs = {name: raw for name, raw in bombs.items() if name in args.only.split(",")}

        tmp = Path(tempfile.mkdtemp(prefix="sendook-rel-"))
        env = common.worker_env()
        web = common.Gunicorn(env, tmp / "gunicorn.log")
        worker = common.Worker(env, tmp / "worker.log", concurrency=1)
        smtp_port = common.free_port()
        smtpd = subprocess.Popen(
            [sys.executable, "manage.py", "smtpd", "--host", "127.0.0.1", "--port", str(smtp_port)],
            cwd=common.ROOT,
            env=env,
            stdout=(tmp / "smtpd.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        web.start()
        worker.start()
        sampler = RssSampler(worker)
        sampler.start()
        late: list[str] = []
        cli_crashes = 0
        results = Progress()
        try:
            if not common.wait_until(lambda: common._port_open(smtp_port), 60, 0.1):
                raise RuntimeError("smtpd did not start")
            worker_pid = worker.process.pid

            def newest_after(pk: int, source: str) -> InboundEmail | None:
                return InboundEmail.objects.filter(pk__gt=pk, source=source).order_by("pk").last()

            def settle(name: str, way: str, before: int, source: str, sent_at: float) -> None:
                record = newest_after(before, source)
                if record is None:
                    late.append(f"{way}:{name}:no-record")
                    return
                limit = PARSE_SECONDS + 5
                common.wait_until(
                    lambda: InboundEmail.objects.get(pk=record.pk).status != "pending",
                    limit + 10,
                    0.1,
                )
                record.refresh_from_db()
                took = time.monotonic() - sent_at
                results.append(f"{way}:{name}={record.status}({took:.1f}s)")
                if record.status not in ("processed", "quarantined") or took > limit:
                    late.append(f"{way}:{name}:{record.status}:{took:.1f}s")

            for name, raw in bombs.items():
                # SNS
                before = (
                    InboundEmail.objects.order_by("pk").values_list("pk", flat=True).last() or 0
                )
                envelope = sign_sns_message(
                    build_notification(
                        json.dumps(
                            {
                                "notificationType": "Received",
                                "mail": {"messageId": f"bomb-{name}", "destination": [address]},
                                "receipt": {
                                    "recipients": [address],
                                    "action": {"type": "SNS", "encoding": "BASE64"},
                                },
                                "content": base64.b64encode(raw).decode(),
                            }
                        )
                    ),
                    key=pki.leaf_key,
                )
                sent_at = time.monotonic()
                status, _ = common.post(
                    f"{web.url}/webhooks/ses",
                    json.dumps(envelope).encode(),
                    {"Content-Type": "text/plain"},
                    timeout=60,
                )
                if status == 200:
                    settle(name, "sns", before, "ses_sns", sent_at)
                elif status in (400, 413):
                    results.append(f"sns:{name}=refused({status})")
                else:
                    late.append(f"sns:{name}:http{status}")
                # SMTP
                before = (
                    InboundEmail.objects.order_by("pk").values_list("pk", flat=True).last() or 0
                )
                sent_at = time.monotonic()
                try:
                    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=60) as smtp:
                        smtp.sendmail("attacker@example.org", [address], raw)
                    settle(name, "smtp", before, "smtp", sent_at)
                except smtplib.SMTPResponseException as exc:
                    results.append(f"smtp:{name}=refused({exc.smtp_code})")
                    if exc.smtp_code < 500 and exc.smtp_code != 452:
                        late.append(f"smtp:{name}:{exc.smtp_code}")
                except smtplib.SMTPException as exc:
                    results.append(f"smtp:{name}=refused({type(exc).__name__})")
                # CLI
                sent_at = time.monotonic()
                try:
                    done = subprocess.run(
                        [sys.executable, "manage.py", "receive_email", "--to", address],
                        input=raw,
                        cwd=common.ROOT,
                        env=env,
                        capture_output=True,
                        timeout=PARSE_SECONDS + 20,
                    )
                    took = time.monotonic() - sent_at
                    crashed = done.returncode != 0 or b"Traceback" in done.stderr
                    cli_crashes += crashed
                    results.append(f"cli:{name}={'crash' if crashed else 'ok'}({took:.1f}s)")
                    if crashed:
                        print(done.stderr.decode(errors="replace")[-1500:], flush=True)
                except subprocess.TimeoutExpired:
                    cli_crashes += 1
                    results.append(f"cli:{name}=timeout")
            worker_alive = worker.process.poll() is None and worker.process.pid == worker_pid
            log = (tmp / "worker.log").read_text(errors="replace")
            worker_crashes = (
                (not worker_alive) + log.count("WorkerLostError") + log.count("exited with 'signal")
            )
        finally:
            sampler.running = False
            common.stop(smtpd)
            worker.stop()
            web.stop()
    if late:
        print("  not finished within limit: " + ", ".join(late), flush=True)
    peak_mib = sampler.peak_kib / 1024
    ok = worker_crashes == 0 and cli_crashes == 0 and not late and peak_mib < MAX_RSS_MIB
    return common.figure(
        ok,
        inputs=len(bombs) * 3,
        worker_crashes=worker_crashes,
        cli_crashes=cli_crashes,
        over_limit=len(late),
        worker_peak_rss_mib=peak_mib,
        rss_limit_mib=MAX_RSS_MIB,
    )


if __name__ == "__main__":
    sys.exit(main())
