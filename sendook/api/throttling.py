"""Per-organization rate limits counted in the cache (`ApiRateThrottle`, `SendRateThrottle`)."""

from __future__ import annotations

import logging
import re
from typing import Any

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from inboxes.models import ApiKey, Organization

logger = logging.getLogger(__name__)

_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "100/h" → (100, 3600); "5/10m" → (5, 600)."""
    match = _RATE_RE.match(rate)
    if not match:
        raise ValueError(f"Invalid rate {rate!r}")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _PERIODS[unit]


def _org_key(group: str, request: Any) -> str:
    return request.auth.organization.public_id


class OrgRateThrottle(BaseThrottle):
    """A per-organization budget counted by django-ratelimit in the shared cache.

    A cache outage must not turn requests into 500s, so the check fails open (and logs).
    """

    group = ""

    def rates(self, organization: Organization) -> list[tuple[str, str]]:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, ApiKey):
            return True
        self.wait_seconds = 0
        for group, rate in self.rates(request.auth.organization):
            try:
                usage = get_usage(request, group=group, key=_org_key, rate=rate, increment=True)
            except Exception:
                logger.warning("rate limit cache unavailable; allowing request", exc_info=True)
                continue
            if not usage:
                continue
            limit, period = parse_rate(rate)
            remaining = max(0, limit - usage["count"])
            reset = max(0, int(usage["time_left"]))
            request.ratelimit_headers = {  # type: ignore[attr-defined]
                "RateLimit": f"limit={limit}, remaining={remaining}, reset={reset}",
                "RateLimit-Policy": f"{limit};w={period}",
            }
            if usage["should_limit"]:
                self.wait_seconds = max(reset, 1)
                request.ratelimit_headers["Retry-After"] = str(self.wait_seconds)  # type: ignore[attr-defined]
                return False
        return True

    def wait(self) -> float:
        return float(self.wait_seconds)


class ApiRateThrottle(OrgRateThrottle):
    """Every authenticated request counts against SENDOOK_API_RATE_LIMIT."""

    def rates(self, organization: Organization) -> list[tuple[str, str]]:
        return [("api", settings.SENDOOK_API_RATE_LIMIT)]


class SendRateThrottle(OrgRateThrottle):
    """Send-type POSTs share an hourly budget and a daily cap per organization."""

    def rates(self, organization: Organization) -> list[tuple[str, str]]:
        rate = organization.send_rate_limit or settings.SENDOOK_SEND_RATE_LIMIT
        cap = organization.daily_send_cap or settings.SENDOOK_DAILY_SEND_CAP
        return [("send", rate), ("send-daily", f"{cap}/d")]
