"""The words of a sender check (RFC 8601's result names) and one message's DNS time budget,
shared by messages/services/authentication.py (DKIM, ARC, SPF) and dmarc.py."""

from __future__ import annotations

import time

from django.conf import settings

PASS, FAIL, SOFTFAIL, NEUTRAL, NONE = "pass", "fail", "softfail", "neutral", "none"
TEMPERROR, PERMERROR = "temperror", "permerror"
VERDICTS = (PASS, FAIL, SOFTFAIL, NEUTRAL, NONE, TEMPERROR, PERMERROR)


class Budget:
    """One message's DNS time: each lookup gets the per-lookup timeout or what is left."""

    def __init__(self, seconds: float) -> None:
        self.ends_at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.ends_at - time.monotonic())

    def lookup_timeout(self) -> float:
        return min(settings.SENDOOK_AUTH_DNS_TIMEOUT, self.remaining())
