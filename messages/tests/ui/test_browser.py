"""The staff UI in a real browser: Playwright driving Debian's Chromium (never a downloaded one).

Run with `pytest -m browser`; skipped when /usr/bin/chromium is missing.
"""

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from inboxes.tests.factories import (
    DomainFactory,
    InboxFactory,
    MembershipFactory,
    OrganizationFactory,
)
from messages.tests.mail_factories import MessageFactory

# Playwright's sync API runs an event loop in this thread; the ORM calls made by the test
# (fixtures, assertions) are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
    ),
]


@pytest.fixture
def tracker():
    """A second loopback server standing in for the outside world: it records every request."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/gif")
            self.end_headers()
            self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

        do_POST = do_GET

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.hits = hits
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def member(org):
    return MembershipFactory(organization=org).user


@pytest.fixture
def inbox(org):
    # A custom-domain inbox sends only while its domain is verified (as the API requires).
    domain = DomainFactory(organization=org, name="acme.test", verified=True)
    return InboxFactory(organization=org, email="support@acme.test", name="Support", domain=domain)


def log_in(page, live_server, user):
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")


def test_log_in_open_an_inbox_search_with_an_operator_and_open_a_thread(
    page, live_server, member, inbox, screenshots
):
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="Lunch plans", text="Tacos?")
    MessageFactory(
        inbox=inbox,
        thread__inbox=inbox,
        subject="Invoice 42",
        text="Please pay the invoice.",
        from_email="alice@vendor.test",
    )
    MessageFactory(
        inbox=inbox,
        thread__inbox=inbox,
        subject="Invoice reminder",
        text="Pay now",
        from_email="bob@vendor.test",
    )

    page.goto(f"{live_server.url}/login")
    page.screenshot(path=screenshots / "login.png")
    log_in(page, live_server, member)
    assert page.get_by_text("support@acme.test").first.is_visible()
    page.screenshot(path=screenshots / "inboxes.png")

    page.get_by_role("link", name="support@acme.test").click()
    page.wait_for_url(f"**/inboxes/{inbox.public_id}")
    rows = page.locator(".thread-list .row")
    assert rows.count() == 3
    assert rows.first.locator(".subject").inner_text() == "Invoice reminder"
    page.screenshot(path=screenshots / "thread-list.png")

    page.keyboard.press("/")
    page.keyboard.type("invoice from:alice")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?**")
    results = page.locator(".result-list .row")
    assert results.count() == 1
    assert page.locator(".result-list mark").first.inner_text().lower() in ("invoice", "alice")
    page.screenshot(path=screenshots / "search.png")

    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url("**/threads/thread_*")
    assert page.locator("h1").inner_text() == "Invoice 42"
    assert "Please pay the invoice." in page.locator(".message .body-text").first.inner_text()
    page.screenshot(path=screenshots / "thread.png", full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/inboxes/{inbox.public_id}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the thread list fits a phone screen without sideways scrolling"
    page.screenshot(path=screenshots / "thread-list-phone.png", full_page=True)


HOSTILE = """
<html><head>
<meta http-equiv="refresh" content="0;url={t}/meta-refresh">
<link rel="stylesheet" href="{t}/stylesheet.css">
<style>body {{ background: url({t}/style-bg.png) }} @import url({t}/import.css);</style>
<script>document.title = 'pwned'; window.parent.document.title = 'pwned';
        new Image().src = '{t}/script';</script>
</head><body>
<h2 id="hello">Quarterly numbers</h2>
<img src="{t}/remote-image.png" alt="pixel">
<img src="x" onerror="new Image().src='{t}/onerror'">
<svg onload="new Image().src='{t}/svg'"><image href="{t}/svg-image.png"/></svg>
<a id="js-link" href="javascript:new Image().src='{t}/javascript-link'">click me</a>
<div style="background-image:url({t}/inline-css.png); position:fixed; top:0">overlay</div>
<iframe src="{t}/iframe"></iframe>
<object data="{t}/object"></object>
<form action="{t}/form" method="post"><input name="q"><button>go</button></form>
<body onload="new Image().src='{t}/body-onload'">
</body></html>
"""


def test_hostile_html_runs_no_script_and_reaches_no_outside_server(
    page, live_server, member, inbox, tracker, screenshots
):
    message = MessageFactory(
        inbox=inbox,
        thread__inbox=inbox,
        subject="Hostile",
        text="",
        html=HOSTILE.format(t=tracker.url),
    )
    log_in(page, live_server, member)

    page.goto(f"{live_server.url}/threads/{message.thread.public_id}")
    frame = page.frame_locator("iframe.body-frame")
    assert frame.locator("h2").inner_text() == "Quarterly numbers"  # the mail does render
    frame.get_by_text("click me").click()
    page.wait_for_timeout(1000)

    assert page.title() == "Hostile · Sendook"
    assert page.evaluate("document.title") != "pwned"
    assert tracker.hits == [], f"requests left the page: {tracker.hits}"
    assert page.get_by_text("Remote images are hidden").is_visible()
    page.screenshot(path=screenshots / "hostile-thread.png", full_page=True)

    # The reader asks for images: only then does the remote image load (and still no script).
    page.get_by_role("link", name="Show images").click()
    page.wait_for_url("**?images=1")
    page.wait_for_timeout(1000)
    assert "/remote-image.png" in tracker.hits
    assert not {"/script", "/onerror", "/svg", "/javascript-link", "/body-onload"} & set(
        tracker.hits
    )
    assert page.title() == "Hostile · Sendook"


def test_another_organizations_thread_url_answers_404(page, live_server, member, other_org):
    theirs = InboxFactory(organization=other_org)
    foreign = MessageFactory(inbox=theirs, thread__inbox=theirs, subject="Globex secret")
    log_in(page, live_server, member)

    response = page.goto(f"{live_server.url}/threads/{foreign.thread.public_id}")
    assert response.status == 404
    assert "Globex secret" not in page.content()


def test_organization_switcher_changes_what_the_user_sees(page, live_server, member, inbox):
    second = OrganizationFactory(name="Initech")
    MembershipFactory(organization=second, user=member)
    InboxFactory(organization=second, email="ops@initech.test")
    log_in(page, live_server, member)

    page.get_by_label("Organization").select_option(label="Initech")
    page.wait_for_load_state()
    page.wait_for_selector("text=ops@initech.test")
    assert page.get_by_text("support@acme.test").count() == 0


def test_sandbox_and_csp_hold_even_if_the_sanitizer_let_everything_through(
    page, live_server, member, inbox, tracker, monkeypatch
):
    # Defence in depth: with nh3 taken out of the way, the iframe's sandbox and CSP alone must
    # still stop scripts and outside requests (the live server runs in this process).
    from messages.ui import rendering

    monkeypatch.setattr(rendering, "sanitize_html", lambda html, **kwargs: (html, 0))
    message = MessageFactory(
        inbox=inbox,
        thread__inbox=inbox,
        subject="Unsanitized",
        text="",
        html=HOSTILE.format(t=tracker.url),
    )
    log_in(page, live_server, member)

    page.goto(f"{live_server.url}/threads/{message.thread.public_id}")
    page.wait_for_timeout(1500)
    assert page.title() == "Unsanitized · Sendook"
    assert tracker.hits == [], f"requests left the page: {tracker.hits}"


def test_reply_from_the_thread_and_see_it_in_the_thread(
    page, live_server, member, inbox, screenshots
):
    from messages.models import Message
    from messages.tests.factories import MessageFactory as ReceivedFactory
    from messages.tests.factories import ThreadFactory

    parent = ReceivedFactory(
        inbox=inbox,
        thread=ThreadFactory(inbox=inbox, subject="Order 7"),
        subject="Order 7",
        text="Where is my order?",
    )
    log_in(page, live_server, member)
    page.goto(f"{live_server.url}/threads/{parent.thread.public_id}")

    page.keyboard.press("r")
    page.keyboard.type("It ships tomorrow.")
    page.get_by_role("button", name="Reply", exact=True).click()
    page.wait_for_url(f"**/threads/{parent.thread.public_id}#msg_*")

    bodies = page.locator(".message .body-text")
    assert bodies.count() == 2
    assert bodies.nth(1).inner_text() == "It ships tomorrow."
    reply = Message.objects.get(direction="outbound")
    assert reply.in_reply_to == parent.message_id
    page.screenshot(path=screenshots / "thread-after-reply.png", full_page=True)

    page.goto(f"{live_server.url}/compose?inbox={inbox.public_id}")
    page.screenshot(path=screenshots / "compose.png")


def test_a_reply_typed_when_the_session_expired_is_sent_after_logging_in_again(
    page, live_server, member, inbox
):
    from django.contrib.sessions.models import Session

    from messages.models import Message
    from messages.tests.factories import MessageFactory as ReceivedFactory
    from messages.tests.factories import ThreadFactory

    parent = ReceivedFactory(
        inbox=inbox, thread=ThreadFactory(inbox=inbox, subject="Order 8"), subject="Order 8"
    )
    thread_url = f"{live_server.url}/threads/{parent.thread.public_id}"
    log_in(page, live_server, member)
    page.goto(thread_url)
    page.locator("#reply-body").fill("Typed before the session expired.")
    Session.objects.all().delete()  # the session expires while the reply is being typed
    page.get_by_role("button", name="Reply", exact=True).click()

    page.wait_for_url(lambda url: "/login?next=" in url)
    assert page.url.endswith(f"/login?next=/threads/{parent.thread.public_id}")
    page.get_by_label("Email").fill(member.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(thread_url)
    assert page.locator("#reply-body").input_value() == "Typed before the session expired."
    assert not Message.objects.filter(direction="outbound").exists()

    page.get_by_role("button", name="Reply", exact=True).click()
    page.wait_for_url(f"{thread_url}#msg_*")
    assert Message.objects.get(direction="outbound").text == "Typed before the session expired."


def test_a_staff_user_approves_an_agents_first_contact_with_an_edit_in_one_click(
    page, live_server, member, inbox, sandbox, screenshots
):
    from inboxes.services import create_api_key
    from messages.models import Message
    from messages.services.provenance import api_key_actor
    from messages.services.send import Sender, send_message

    member.first_name = "Dana"
    member.save()
    inbox.send_approval = "first_contact"
    inbox.save()
    agent = create_api_key(inbox.organization, name="Support bot").api_key
    held = send_message(
        inbox,
        to=["new.customer@example.com"],
        subject="Welcome",
        text="Agent draft",
        sender=Sender(created_by=api_key_actor(agent), api_key=agent),
    )
    assert held.status == "pending_approval"

    log_in(page, live_server, member)
    page.locator("#approvals-link").click()
    page.wait_for_url("**/approvals")
    assert page.get_by_label("1 waiting for approval").is_visible()
    assert page.get_by_text("first contact (new.customer@example.com)").is_visible()
    page.get_by_label("Text").fill("Edited by Dana")
    page.screenshot(path=screenshots / "approvals.png")
    page.get_by_role("button", name="Approve and send").click()
    page.wait_for_url("**/approvals")
    assert page.get_by_text("Nothing is waiting for approval.").is_visible()

    (captured,) = sandbox()
    assert captured[0].get_body(("plain",)).get_content().strip() == "Edited by Dana"
    page.goto(f"{live_server.url}/threads/{held.thread.public_id}")
    assert page.get_by_text("sent by agent key Support bot, approved by Dana").is_visible()
    assert Message.objects.get(pk=held.pk).approved_by["name"] == "Dana"
