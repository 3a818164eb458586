# ruff: noqa: F811  (the fixtures imported from test_browser are parameters here)
"""The compose work in Chromium: times in two viewer time zones, the keyboard (shortcut help,
e/a/c/x, nothing while typing), the autosave surviving a session expiry through the browser's
storage, the collision prompt, and a phone-width layout without horizontal overflow."""

from datetime import UTC, datetime, timedelta

import pytest

from messages.models import Message
from messages.tests.ui.conftest import CHROMIUM
from messages.tests.ui.test_browser import (  # noqa: F401  (fixtures)
    inbox,
    log_in,
    member,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed"),
]


def _page(browser, **options):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, **options)
    return context, context.new_page()


def _thread(inbox, *, subject="Order 9", at=None):
    from messages.tests.factories import MessageFactory, ThreadFactory

    message = MessageFactory(
        inbox=inbox,
        thread=ThreadFactory(inbox=inbox, subject=subject),
        subject=subject,
        text="Where is it?",
    )
    if at is not None:
        Message.objects.filter(pk=message.pk).update(created_at=at)
    return message


@pytest.mark.parametrize(
    "zone, expected",
    [("America/Los_Angeles", "2025-03-12 03:30"), ("Asia/Tokyo", "2025-03-12 19:30")],
)
def test_times_are_shown_in_the_viewers_zone(browser, live_server, member, inbox, zone, expected):
    old = _thread(inbox, subject="Old one", at=datetime(2025, 3, 12, 10, 30, tzinfo=UTC))
    context, page = _page(browser, timezone_id=zone)
    try:
        log_in(page, live_server, member)
        page.goto(f"{live_server.url}/threads/{old.thread.public_id}")
        stamp = page.locator(f"li#{old.public_id} time").first
        assert stamp.get_attribute("data-local") == expected
        assert stamp.inner_text() == "Mar 12, 2025"
        assert "2025" in stamp.get_attribute("title")
        fresh = _thread(inbox, subject="Fresh one", at=datetime.now(UTC) - timedelta(minutes=5))
        page.goto(f"{live_server.url}/threads/{fresh.thread.public_id}")
        assert page.locator(f"li#{fresh.public_id} time").first.inner_text() == "5 min ago"
    finally:
        context.close()


def test_the_keyboard_help_compose_and_no_shortcut_while_typing(
    browser, live_server, member, inbox
):
    message = _thread(inbox)
    context, page = _page(browser)
    try:
        log_in(page, live_server, member)
        url = f"{live_server.url}/threads/{message.thread.public_id}"
        page.goto(url)
        page.locator("#search-box").focus()
        page.keyboard.press("Escape")  # leaves the field; focus is on the page
        page.keyboard.press("?")
        dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
        assert dialog.is_visible()
        assert "Assign the thread to me" in dialog.inner_text()
        page.keyboard.press("Escape")
        assert not dialog.is_visible()

        page.locator("#reply-body").fill("")
        page.locator("#reply-body").type("c?x")  # typed into the reply: no shortcut fires
        assert page.url == url
        assert page.locator("#reply-body").input_value() == "c?x"
        assert not page.get_by_role("dialog", name="Keyboard shortcuts").is_visible()
        page.keyboard.press("Escape")
        page.keyboard.press("c")
        page.wait_for_url(f"{live_server.url}/compose*")
        assert page.get_by_role("heading", name="New message").is_visible()
    finally:
        context.close()


def test_the_help_dialog_gives_focus_back(browser, live_server, member, inbox):
    context, page = _page(browser)
    try:
        log_in(page, live_server, member)
        page.goto(f"{live_server.url}/compose")
        page.locator("#compose-link").focus()
        page.keyboard.press("?")
        assert page.evaluate("document.activeElement.textContent") == "Done"
        page.keyboard.press("Escape")
        assert page.evaluate("document.activeElement.id") == "compose-link"
    finally:
        context.close()


def test_autosave_keeps_the_reply_on_the_server_and_in_the_browser_across_an_expiry(
    browser,
    live_server,
    member,
    inbox,
    screenshots,
):
    from django.contrib.sessions.models import Session

    message = _thread(inbox)
    url = f"{live_server.url}/threads/{message.thread.public_id}"
    context, page = _page(browser)
    try:
        log_in(page, live_server, member)
        page.goto(url)
        page.locator("#reply-body").type("Saved by itself")
        status = page.locator("#reply-form [data-autosave-status]")
        status.get_by_text("Draft saved at").wait_for(timeout=10_000)
        draft = Message.objects.get(status="draft")
        assert draft.text == "Saved by itself" and draft.thread_id == message.thread_id

        Session.objects.all().delete()  # the session expires while typing goes on
        page.locator("#reply-body").type(", and more")
        status.get_by_text("You are signed out").wait_for(timeout=10_000)
        page.screenshot(path=screenshots / "autosave-signed-out.png")
        login = status.get_by_role("link", name="Log in again")
        assert login.get_attribute("href") == (
            f"/login?next=%2Fthreads%2F{message.thread.public_id}"
        )
        login.click()
        page.get_by_label("Email").fill(member.email)
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(url)
        # The browser's copy is newer than the server's draft: it comes back.
        page.locator("#reply-form [data-autosave-status]").get_by_text(
            "unsent text is back"
        ).wait_for()
        assert page.locator("#reply-body").input_value() == "Saved by itself, and more"

        page.get_by_role("button", name="Reply", exact=True).click()
        page.wait_for_url(f"{url}#msg_*")
        sent = Message.objects.get(direction="outbound")
        assert sent.text == "Saved by itself, and more"
        assert not Message.objects.filter(status="draft").exists()  # the autosave went with it
        page.reload()
        assert page.locator("#reply-body").input_value() == ""  # nothing left to restore
    finally:
        context.close()


def test_the_collision_prompt_in_the_browser(
    browser,
    live_server,
    member,
    inbox,
    screenshots,
):
    from messages.tests.factories import MessageFactory

    message = _thread(inbox)
    url = f"{live_server.url}/threads/{message.thread.public_id}"
    context, page = _page(browser)
    try:
        log_in(page, live_server, member)
        page.goto(url)
        page.locator("#reply-body").fill("It ships tomorrow.")
        MessageFactory(
            inbox=inbox, thread=message.thread, subject="Re: Order 9", text="Cancel it please."
        )
        page.get_by_role("button", name="Reply", exact=True).click()
        alert = page.locator('[role="alert"].collision')
        alert.wait_for()
        assert "new message" in alert.inner_text() and "Cancel it please." in alert.inner_text()
        page.screenshot(path=screenshots / "collision-prompt.png", full_page=True)
        assert not Message.objects.filter(direction="outbound").exists()
        alert.get_by_role("button", name="Revise").click()
        assert page.evaluate("document.activeElement.id") == "reply-body"
        assert page.locator("#reply-body").input_value() == "It ships tomorrow."
        alert.get_by_role("button", name="Send anyway").click()
        page.wait_for_url(f"{url}#msg_*")
        assert Message.objects.get(direction="outbound").text == "It ships tomorrow."
    finally:
        context.close()


@pytest.mark.parametrize("path", ["thread", "/compose", "/members", "/no-such-page"])
def test_a_phone_never_scrolls_sideways(browser, live_server, member, inbox, path, screenshots):
    message = _thread(inbox, subject="A rather long subject line that goes on and on and on")
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    page = context.new_page()
    try:
        log_in(page, live_server, member)
        target = f"/threads/{message.thread.public_id}" if path == "thread" else path
        page.goto(f"{live_server.url}{target}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{target} is {width}px wide on a 360px screen"
        name = path.strip("/") or "thread"
        page.screenshot(path=screenshots / f"phone-{name}.png", full_page=True)
    finally:
        context.close()
