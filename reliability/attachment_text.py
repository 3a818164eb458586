"""Reliability: attachment text for the agent context view under hostile files.

Each file is extracted by messages.services.attachment_text.extract_text in a fresh Python process
(Django set up, no database), so each case's peak RSS (ru_maxrss) is its own; a baseline
process imports the same modules and extracts nothing. Cases: a 50 MB PDF (refused by size at
the default limits, and parsed with the byte limit raised past it, to show what the limit
saves), a zip-bomb DOCX (200 MB of XML in a 200 KB zip), an encrypted PDF, a corrupt PDF, and
as controls a 100-page PDF and an ordinary DOCX.

Figures: the outcome ("ok, N chars" or the unavailable reason), the seconds, the peak RSS and
its growth over the baseline. Targets: every hostile case "unavailable" within the per-file
time budget + 1 s, and below RELIABILITY_MAX_RSS_MIB (default 512) of peak RSS.

    .venv/bin/python reliability/attachment_text.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MAX_RSS_MIB = int(os.environ.get("RELIABILITY_MAX_RSS_MIB", "512"))

CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, os.environ["ROOT"])
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sendook.settings")
import django
django.setup()
from django.test.utils import override_settings
from messages.models import Attachment
from messages.services.attachment_text import Unavailable, extract_text, extraction_limits
name, content_type, overrides = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
started = time.monotonic()
outcome = "baseline"
if name != "-":
    with override_settings(**overrides):
        path = os.path.join(os.environ["MEDIA_ROOT"], name)
        attachment = Attachment(filename=name, content_type=content_type,
                                size=os.path.getsize(path))
        attachment.file.name = name
        try:
            outcome = f"ok, {len(extract_text(attachment, limits=extraction_limits()))} chars"
        except Unavailable as exc:
            outcome = f"unavailable: {exc}"
print(json.dumps({"outcome": outcome, "seconds": time.monotonic() - started,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def run(media: str, name: str, content_type: str, overrides: dict | None = None) -> dict:
    env = {**os.environ, "ROOT": str(ROOT), "MEDIA_ROOT": media}
    env.pop("DATABASE_URL", None)  # no database is touched
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, name, content_type, json.dumps(overrides or {})],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        return {"outcome": f"CRASH: {done.stderr.strip().splitlines()[-1:]}", "seconds":
                time.monotonic() - started, "rss_mib": float("nan")}  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    from messages.tests.trust.documents import (
        docx_file,
        encrypted_pdf,
        large_pdf,
        pdf,
        zip_bomb_docx,
    )

    with tempfile.TemporaryDirectory() as media:
        files = {
            "huge.pdf": large_pdf(50),
            "bomb.docx": zip_bomb_docx(200),
            "locked.pdf": encrypted_pdf(["secret"]),
            "broken.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\n" + b"\xff" * 4096,
            "book.pdf": pdf([f"Page {n}: " + "lorem ipsum " * 40 for n in range(1, 101)]),
            "letter.docx": docx_file(["Dear Ann,"] + ["A paragraph of text. " * 20] * 200),
        }
        for name, data in files.items():
            Path(media, name).write_bytes(data)
        raised = {"SENDOOK_CONTEXT_ATTACHMENT_MAX_BYTES": 64 * 1024 * 1024}
        cases = [
            ("50 MB PDF (default limits)", "huge.pdf", "application/pdf", None, True),
            ("50 MB PDF (byte limit raised to 64 MB)", "huge.pdf", "application/pdf", raised,
             False),
            ("zip-bomb DOCX, 200 MB inflated", "bomb.docx", DOCX, None, True),
            ("encrypted PDF", "locked.pdf", "application/pdf", None, True),
            ("corrupt PDF", "broken.pdf", "application/pdf", None, True),
            ("100-page PDF (control)", "book.pdf", "application/pdf", None, False),
            ("ordinary DOCX (control)", "letter.docx", DOCX, None, False),
        ]  # fmt: skip
        baseline = run(media, "-", "")
        print(f"baseline (Django + pypdf + python-docx imported): {baseline['rss_mib']:.0f} MiB")
        print(f"{'case':42} {'size':>9} {'seconds':>8} {'peak RSS':>9} {'+base':>7}  outcome")
        failures = 0
        for label, name, content_type, overrides, hostile in cases:
            result = run(media, name, content_type, overrides)
            growth = result["rss_mib"] - baseline["rss_mib"]
            size = len(files[name]) / (1024 * 1024)
            print(
                f"{label:42} {size:7.1f}MB {result['seconds']:8.2f} {result['rss_mib']:7.0f}MiB "
                f"{growth:5.0f}MiB  {result['outcome'][:90]}"
            )
            if hostile and (
                not result["outcome"].startswith("unavailable")
                or result["seconds"] > 6
                or not result["rss_mib"] < MAX_RSS_MIB
            ):
                failures += 1
        print(f"hostile cases outside the targets: {failures}")
        return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
