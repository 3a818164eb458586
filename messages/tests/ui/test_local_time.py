"""Times in the viewer's time zone, checked in a real browser (Debian's Chromium) in two zones.

The server renders `<time datetime="ISO-8601 UTC">`; app.js rewrites each one to the viewer's
zone: `data-local="YYYY-MM-DD HH:MM"` (24 h), a relative text for today, "Mar 12" this year,
"Mar 12, 2025" for older mail, and a `title` with the full local date and time. The expected
values are computed here with zoneinfo, not by the browser.
"""

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings

from inboxes.tests.factories import InboxFactory, MembershipFactory
from messages.models import Message, Thread
from messages.tests.mail_factories import MessageFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
ZONES = ["Europe/Berlin", "America/Los_Angeles"]


def _local_times_in_tree() -> bool:
    static = Path(django_settings.BASE_DIR) / "messages" / "ui" / "static"
    return any(
        "data-local" in path.read_text() or "dataset.local" in path.read_text()
        for path in static.rglob("*.js")
    )


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
    ),
    pytest.mark.skipif(
        not _local_times_in_tree(),
        reason="no script in messages/ui/static sets data-local: the browser-side local times "
        "of issue 14 (compose work) are not in this tree",
    ),
]


def at(message: Message, when: datetime) -> None:
    Message.objects.filter(pk=message.pk).update(created_at=when)


def local(when: datetime, zone: str) -> datetime:
    return when.astimezone(ZoneInfo(zone))


def read_times(page) -> list[dict]:
    # Every <time> once app.js has rewritten it (it sets data-local on each).
    page.wait_for_function(
        "() => { const t = document.querySelectorAll('time[datetime]');"
        " return t.length > 0 && Array.from(t).every(e => e.hasAttribute('data-local')); }",
        timeout=5000,
    )
    return page.eval_on_selector_all(
        "time[datetime]",
        "els => els.map(e => ({datetime: e.getAttribute('datetime'),"
        " local: e.getAttribute('data-local'), text: e.textContent.trim(),"
        " title: e.getAttribute('title') || ''}))",
    )


def expected_local(iso: str, zone: str) -> str:
    return local(datetime.fromisoformat(iso.replace("Z", "+00:00")), zone).strftime(
        "%Y-%m-%d %H:%M"
    )


@pytest.mark.parametrize("zone", ZONES)
def test_times_are_shown_in_the_viewers_time_zone(browser, live_server, org, zone, screenshots):
    user = MembershipFactory(organization=org).user
    inbox = InboxFactory(organization=org, email="support@acme.test", name="Support")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    # Old mail: 22:15 UTC on 1 July 2024 is already 2 July in Berlin (00:15), 15:15 in LA.
    old_at = datetime(2024, 7, 1, 22, 15, tzinfo=UTC)
    # This year: 23:30 UTC on 10 January is 11 January in Berlin, 15:30 on the 10th in LA.
    this_year_at = datetime(now.year, 1, 10, 23, 30, tzinfo=UTC)
    this_year = now - this_year_at > timedelta(days=10)  # not checked in the first days of a year
    today_at = now - timedelta(minutes=5)

    first = MessageFactory(
        inbox=inbox, thread__inbox=inbox, subject="Times", text="Old one", from_email="a@x.test"
    )
    thread = first.thread
    middle = MessageFactory(inbox=inbox, thread=thread, subject="Re: Times", text="This year")
    last = MessageFactory(inbox=inbox, thread=thread, subject="Re: Times", text="Today")
    at(first, old_at)
    at(middle, this_year_at if this_year else old_at + timedelta(days=1))
    at(last, today_at)
    Thread.objects.filter(pk=thread.pk).update(last_message_at=today_at)

    context = browser.new_context(
        timezone_id=zone, locale="en-US", viewport={"width": 1280, "height": 860}
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == zone

        page.goto(f"{live_server.url}/threads/{thread.public_id}")
        times = read_times(page)
        page.screenshot(path=screenshots / f"local-time-{zone.replace('/', '-')}.png")
        for t in times:
            assert t["local"] == expected_local(t["datetime"], zone), (zone, t)

        by_instant = {
            datetime.fromisoformat(t["datetime"].replace("Z", "+00:00")).replace(
                second=0, microsecond=0
            ): t
            for t in times
        }
        assert {old_at, today_at} <= set(by_instant), (
            "each message's time is on the page",
            times,
        )

        old = by_instant[old_at]
        old_local = local(old_at, zone)
        assert old["local"] == old_local.strftime("%Y-%m-%d %H:%M")
        assert (
            old["local"]
            == {
                "Europe/Berlin": "2024-07-02 00:15",
                "America/Los_Angeles": "2024-07-01 15:15",
            }[zone]
        )
        assert "2024" in old["text"], f"mail from an earlier year shows its year: {old}"
        assert f"{MONTHS[old_local.month - 1]} {old_local.day}" in old["text"], old
        assert "2024" in old["title"], f"the title carries the full local date: {old}"

        today = by_instant[today_at]
        today_local = local(today_at, zone)
        assert today["local"] == today_local.strftime("%Y-%m-%d %H:%M")
        if today_local.date() == local(datetime.now(UTC), zone).date():
            # Relative for today: neither a month name nor a year, just "5 min ago" or the like.
            assert not re.search(r"\b(19|20)\d\d\b", today["text"]), today
            assert not any(re.search(rf"\b{m}\b", today["text"]) for m in MONTHS), today
            assert today["text"], today
        assert str(today_local.year) in today["title"], today

        if this_year:
            mid = by_instant[this_year_at]
            mid_local = local(this_year_at, zone)
            assert mid["local"] == mid_local.strftime("%Y-%m-%d %H:%M")
            assert mid_local.day == {"Europe/Berlin": 11, "America/Los_Angeles": 10}[zone]
            assert f"{MONTHS[mid_local.month - 1]} {mid_local.day}" in mid["text"], mid
            assert str(now.year) not in mid["text"], f"this year's mail omits the year: {mid}"

        # The thread list shows the thread's last activity (today) the same way.
        page.goto(f"{live_server.url}/inboxes/{inbox.public_id}")
        for t in read_times(page):
            assert t["local"] == expected_local(t["datetime"], zone), (zone, t)
    finally:
        context.close()
