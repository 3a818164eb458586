"""The Blocked view in a real browser (Debian's Chromium): a person finds the mail a block list
held back, reads it, releases it, and finds it in the inbox. Run with `pytest -m browser`."""

import pytest

from inboxes.tests.factories import InboxFactory, MembershipFactory
from messages.models import Message
from messages.services import lists
from messages.services.provenance import SYSTEM
from messages.tests.inbound.mail import build_email
from messages.tests.ui.conftest import (  # noqa: F401  (the staff UI's browser fixtures)
    CHROMIUM,
    browser,
    page,
    screenshots,
)
from messages.tests.ui.test_browser import log_in
from sendook.events.models import Event

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


def test_a_person_releases_blocked_mail_from_the_blocked_view(page, live_server, org, screenshots):  # noqa: F811
    from messages.services.receive import process_inbound_email, receive_raw_email

    member = MembershipFactory(organization=org).user
    inbox = InboxFactory(organization=org, email="support@sendook.localhost", name="Support")
    lists.add_entry(
        org, inbox=None, direction="receive", kind="block", value="spam.example", actor=SYSTEM
    )
    record = receive_raw_email(
        build_email(sender="Deals <deals@mail.spam.example>", subject="Act now", text="Free!"),
        recipients=[inbox.email],
        source="smtp",
    )
    process_inbound_email(record)

    log_in(page, live_server, member)
    assert "Act now" not in page.content()
    page.click("#blocked-link")
    page.wait_for_url(f"{live_server.url}/blocked")
    item = page.locator(".blocked-message")
    assert "deals@mail.spam.example" in item.inner_text()
    assert "spam.example" in item.locator(".reason").inner_text()
    page.screenshot(path=screenshots / "blocked.png", full_page=True)
    page.get_by_role("button", name="Release to support@sendook.localhost").click()
    page.wait_for_selector("text=Nothing is blocked.")
    assert Message.objects.get().status == "received"
    assert Event.objects.filter(type="message.received").count() == 1

    page.click("#manage-lists")
    page.get_by_label("Address or domain").fill("*.bad.example")
    page.get_by_role("button", name="Add").click()
    assert "wildcards" in page.locator("#list-error").inner_text()
    page.screenshot(path=screenshots / "lists-error.png", full_page=True)
