"""Per-organization rate limits counted in the cache (`ApiRateThrottle`, `SendRateThrottle`).

`spend_budgets` is the one place a request is counted against an organization's budgets: the
API's throttles and the staff UI's sends (messages.ui.sending.check_send_budget) both call it,
with the same django-ratelimit groups and key, so they share the counters.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from sendook.api.auth import ApiClient
from sendook.api.tenancy import Organization

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


def send_rates(organization: Organization) -> list[tuple[str, str]]:
    """The hourly send budget and the daily cap, as (group, rate): the organization's own
    overrides, else SENDOOK_SEND_RATE_LIMIT and SENDOOK_DAILY_SEND_CAP."""
    rate = organization.send_rate_limit or settings.SENDOOK_SEND_RATE_LIMIT
    cap = organization.daily_send_cap or settings.SENDOOK_DAILY_SEND_CAP
    return [("send", rate), ("send-daily", f"{cap}/d")]


@dataclass(frozen=True)
class BudgetUsage:
    """One budget after a request was counted against it."""

    rate: str
    count: int
    seconds_left: int
    exceeded: bool


def spend_budgets(
    request: Any, organization: Organization, rates: list[tuple[str, str]]
) -> BudgetUsage | None:
    """Count this request against each (group, rate) budget of the organization, in order,
    stopping at the first one spent. Returns the last budget counted (the spent one, if any),
    or None when none was.

    A cache outage must not turn requests into errors, so a budget the cache cannot count is
    skipped (and logged): the check fails open.
    """
    counted = None
    for group, rate in rates:
        try:
            usage = get_usage(
                request,
                group=group,
                key=lambda _group, _request: organization.public_id,
                rate=rate,
                increment=True,
            )
        except Exception:
            logger.warning("rate limit cache unavailable; allowing request", exc_info=True)
            continue
        if not usage:
            continue
        counted = BudgetUsage(
            rate=rate,
            count=usage["count"],
            seconds_left=max(0, int(usage["time_left"])),
            exceeded=bool(usage["should_limit"]),
        )
        if counted.exceeded:
            break
    return counted


class OrgRateThrottle(BaseThrottle):
    """A per-organization budget, with RateLimit headers for the response."""

    wait_seconds = 0

    def rates(self, organization: Organization) -> list[tuple[str, str]]:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        if not isinstance(request.user, ApiClient):
            return True
        self.wait_seconds = 0
        organization = request.user.organization
        usage = spend_budgets(request, organization, self.rates(organization))
        if usage is None:
            return True
        limit, period = parse_rate(usage.rate)
        remaining = max(0, limit - usage.count)
        request.ratelimit_headers = {  # type: ignore[attr-defined]
            "RateLimit": f"limit={limit}, remaining={remaining}, reset={usage.seconds_left}",
            "RateLimit-Policy": f"{limit};w={period}",
        }
        if usage.exceeded:
            self.wait_seconds = max(usage.seconds_left, 1)
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
        return send_rates(organization)
