"""The staff UI updates itself (issue 16): against the real ASGI process (`live_asgi`: uvicorn on
its own database), mail delivered by `manage.py receive_email` reaches an open page through
/live/events (EventSource) and the fragments live.js fetches, without a reload.

The SSE tests read /live/events with the session cookie of a real login, as the browser does."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from email.utils import formatdate, make_msgid

import httpx
import pytest

from messages.tests.ui.conftest import BROWSER
from sendook.events.tests.live import Stream

AXE_BLOCKING = {"serious", "critical"}


# --- helpers --------------------------------------------------------------------------------


def session_cookie(server, org) -> dict[str, str]:
    """The cookies of the owner's login through /login (a real session, as a browser gets)."""
    with httpx.Client(base_url=server.url, timeout=20) as client:
        form = client.get("/login").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        answer = client.post(
            "/login",
            data={"username": org.email, "password": org.password, "csrfmiddlewaretoken": token},
        )
        assert answer.status_code == 302, answer.text[:500]
        return dict(client.cookies)


def new_inbox(server, org) -> dict:
    answer = httpx.post(
        server.url + "/v1/inboxes",
        json={"name": "Support"},
        headers={"Authorization": f"Bearer {org.api_key}"},
        timeout=20,
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def deliver(server, inbox: dict, *, subject: str, text: str, in_reply_to: str = "") -> dict:
    """Alice's mail to the inbox, as raw MIME through `manage.py receive_email`."""
    headers = [
        "From: Alice Example <alice@customer.example>",
        f"To: Support <{inbox['email']}>",
        f"Subject: {subject}",
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: {make_msgid(domain='customer.example')}",
    ]
    if in_reply_to:
        headers += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    headers += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    raw = ("\r\n".join(headers) + "\r\n\r\n" + text + "\r\n").encode()
    output = json.loads(server.manage("receive_email", "--to", inbox["email"], stdin=raw))
    assert isinstance(output, list) and len(output) == 1, output
    return output[0]


class StaffStream(Stream):
    """/live/events with a session cookie (sendook/events/tests/live.py's SSE reader)."""

    def __init__(self, server, cookies: dict[str, str] | None, **kwargs):
        super().__init__(server, None, **kwargs)
        self.url = server.url + "/live/events"
        if cookies:
            self.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())


# --- the stream -----------------------------------------------------------------------------


def test_live_events_without_a_session_is_a_401_json_error(live_asgi):
    for cookies in (None, {"sessionid": "not-a-session"}):
        with StaffStream(live_asgi, cookies) as stream:
            assert stream.response.status_code == 401
            assert stream.response.headers["content-type"] == "application/json"
            stream.response.read()
            assert stream.response.json()["code"] == "not_authenticated"


def test_a_member_of_one_organization_never_receives_anothers_events(live_asgi):
    ours, theirs = live_asgi.new_org(), live_asgi.new_org()
    our_inbox, their_inbox = new_inbox(live_asgi, ours), new_inbox(live_asgi, theirs)
    with StaffStream(live_asgi, session_cookie(live_asgi, ours)) as stream:
        assert stream.response.status_code == 200
        assert stream.frame().retry == 3000
        deliver(live_asgi, their_inbox, subject="Globex secret", text="for Globex only")
        mine = deliver(live_asgi, our_inbox, subject="Ours", text="for us")
        seen = []
        while not any(f.envelope.get("messageId") == mine["id"] for f in seen):
            seen += stream.events(1)
    assert {frame.envelope["organizationId"] for frame in seen} == {ours.id}
    assert not any("Globex" in (frame.data or "") for frame in seen)


# --- in the browser -------------------------------------------------------------------------


def log_in(page, server, org) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("Email").fill(org.email)
    page.get_by_label("Password").fill(org.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.url}/")


def open_live(page, url: str) -> None:
    """The page, with its stream open (events before that are not its business), and a marker
    that a reload or a navigation would wipe."""
    page.goto(url)
    # A selector, not wait_for_function: polling a string predicate needs eval, which the
    # UI's CSP (script-src 'self') refuses.
    page.wait_for_selector("html[data-live='open']", state="attached", timeout=10_000)
    page.evaluate("window.__notReloaded = true")


def axe_violations(page) -> list[dict]:
    from messages.tests.ui.test_a11y import AXE

    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.html)}))"""
    )
    return [v for v in found if v["impact"] in AXE_BLOCKING]


@pytest.mark.browser
@pytest.mark.skipif(BROWSER[1].args[0], reason=BROWSER[1].kwargs["reason"])
def test_new_mail_appears_in_the_open_thread_the_list_and_the_title_without_reload(
    live_asgi, browser, screenshots
):
    from playwright.sync_api import expect

    org = live_asgi.new_org()
    inbox = new_inbox(live_asgi, org)
    first = deliver(live_asgi, inbox, subject="Parcel late", text="Where is my parcel?")
    thread_url = f"{live_asgi.url}/threads/{first['threadId']}"
    # bypass_csp: only so that the axe-core script can be injected at the end.
    context = browser.new_context(viewport={"width": 1280, "height": 860}, bypass_csp=True)
    thread_page = context.new_page()
    log_in(thread_page, live_asgi, org)
    open_live(thread_page, thread_url)
    list_page = context.new_page()
    open_live(list_page, f"{live_asgi.url}/inboxes/{inbox['id']}")
    expect(list_page).not_to_have_title(re.compile(r"^\(\d+\)"))  # the thread was read

    # 1. Alice answers: the message is on the open thread page within 2 s, no reload.
    # (When each message is put on the page, by the browser's clock: this machine's.)
    thread_page.evaluate(
        """() => { window.__arrived = {};
            new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(n => {
                if (n.id) window.__arrived[n.id] = Date.now(); })))
            .observe(document.getElementById("thread-messages"), {childList: true}); }"""
    )
    started = time.monotonic()
    reply = deliver(
        live_asgi,
        inbox,
        subject="Re: Parcel late",
        text="Any news? It is still not here.",
        in_reply_to=first["messageId"],
    )
    delivered = time.monotonic()
    assert reply["threadId"] == first["threadId"]
    expect(thread_page.locator(f"#{reply['id']}")).to_contain_text(
        "Any news? It is still not here.", timeout=2_000
    )
    on_screen = time.monotonic() - delivered
    print(
        f"\nmessage on the open thread page {on_screen * 1000:.0f} ms after receive_email returned"
        f" ({(time.monotonic() - started) * 1000:.0f} ms after it started, Python start-up included)"
    )
    created = datetime.fromisoformat(reply["createdAt"].replace("Z", "+00:00")).timestamp()
    shown = thread_page.evaluate(f"window.__arrived[{reply['id']!r}]") / 1000
    print(f"message stored (createdAt) -> on the page: {(shown - created) * 1000:.0f} ms")
    assert thread_page.evaluate("window.__notReloaded") is True
    thread_page.screenshot(path=screenshots / "live-thread.png", full_page=True)

    # 2. A new conversation: its row is on top of the list, unread; the tab title counts it.
    other = deliver(live_asgi, inbox, subject="Refund please", text="I want my money back.")
    row = list_page.locator(f'.thread-row[data-thread="{other["threadId"]}"]')
    expect(row).to_contain_text("Refund please", timeout=2_000)
    expect(row).to_have_class(re.compile(r"\bunread\b"))
    expect(list_page.locator(".thread-row").first).to_have_attribute(
        "data-thread", other["threadId"]
    )
    expect(list_page).to_have_title(re.compile(r"^\(1\) "), timeout=2_000)
    inbox_count = list_page.locator(f'[data-count-of="inbox:{inbox["id"]}"] .count')
    expect(inbox_count).to_have_text("1")
    assert list_page.evaluate("window.__notReloaded") is True
    list_page.screenshot(path=screenshots / "live-list.png", full_page=True)

    # 3. Writing a reply when Alice writes again: a banner, the text and the cursor untouched.
    box = thread_page.locator("#reply-body")
    box.fill("Sorry about that, I am looking into it")
    box.press("End")
    again = deliver(
        live_asgi,
        inbox,
        subject="Re: Parcel late",
        text="Hello? Anyone there?",
        in_reply_to=reply["messageId"],
    )
    banner = thread_page.locator("#live-banner[role=status]")
    expect(banner).to_have_text(
        re.compile(r"New message from Alice Example — Re: Parcel late"), timeout=2_000
    )
    expect(thread_page.locator(f"#{again['id']}")).to_have_count(0)
    assert thread_page.evaluate("document.activeElement.id") == "reply-body"
    expect(box).to_have_value("Sorry about that, I am looking into it")
    thread_page.screenshot(path=screenshots / "live-banner.png", full_page=True)
    found = axe_violations(thread_page)
    assert not found, found
    # "Show it": the message is on the page, and the banner gone.
    thread_page.get_by_role("button", name="Show it").click()
    expect(thread_page.locator(f"#{again['id']}")).to_contain_text("Hello? Anyone there?")
    expect(thread_page.locator("#live-banner")).to_be_empty()
    expect(box).to_have_value("Sorry about that, I am looking into it")
    assert thread_page.evaluate("window.__notReloaded") is True
    context.close()


@pytest.mark.browser
@pytest.mark.skipif(BROWSER[1].args[0], reason=BROWSER[1].kwargs["reason"])
@pytest.mark.django_db(transaction=True)
def test_without_the_asgi_process_pages_work_and_say_nothing_about_it(page, live_server, org):
    """The WSGI process (here Django's live server) answers /live/events 503: no live updates,
    no error on the page, no retrying."""
    from playwright.sync_api import expect

    from inboxes.tests.factories import InboxFactory, MembershipFactory
    from messages.tests.mail_factories import MessageFactory

    user = MembershipFactory(organization=org).user
    inbox = InboxFactory(organization=org, email="support@acme.test", name="Support")
    message = MessageFactory(inbox=inbox, thread__inbox=inbox, subject="Parcel late")
    streams: list[str] = []  # the pages that opened /live/events
    page.on(
        "request",
        lambda request: (
            request.resource_type == "eventsource" and streams.append(request.frame.url)
        ),
    )
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/threads/{message.thread.public_id}")
    # A selector, not wait_for_function: polling a string predicate needs eval, which the
    # UI's CSP (script-src 'self') refuses.
    page.wait_for_selector("html[data-live='off']", state="attached", timeout=10_000)
    expect(page).to_have_title("Parcel late · Sendook")
    expect(page.locator("#live-banner")).to_be_empty()
    expect(page.get_by_role("alert")).to_have_count(0)
    page.wait_for_timeout(1_000)
    thread_url = f"{live_server.url}/threads/{message.thread.public_id}"
    assert streams.count(thread_url) == 1  # asked once, refused, not asked again


@pytest.mark.browser
@pytest.mark.skipif(BROWSER[1].args[0], reason=BROWSER[1].kwargs["reason"])
def test_mail_that_arrived_while_the_server_was_down_appears_when_it_is_back(live_asgi, page):
    """The server is killed with the page open; mail arrives meanwhile; the EventSource
    reconnects by itself (Last-Event-ID) and the page catches up, with nothing alarming shown."""
    from playwright.sync_api import expect

    org = live_asgi.new_org()
    inbox = new_inbox(live_asgi, org)
    first = deliver(live_asgi, inbox, subject="Invoice 7", text="Attached.")
    log_in(page, live_asgi, org)
    open_live(page, f"{live_asgi.url}/threads/{first['threadId']}")
    # One event seen, so the stream has an id to resume from.
    seen = deliver(
        live_asgi, inbox, subject="Re: Invoice 7", text="Paid?", in_reply_to=first["messageId"]
    )
    expect(page.locator(f"#{seen['id']}")).to_be_visible(timeout=5_000)

    live_asgi.stop(kill=True)
    missed = deliver(
        live_asgi, inbox, subject="Re: Invoice 7", text="Paid now.", in_reply_to=seen["messageId"]
    )
    live_asgi.start()
    expect(page.locator(f"#{missed['id']}")).to_contain_text("Paid now.", timeout=15_000)
    assert page.evaluate("window.__notReloaded") is True
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.locator("#live-banner")).to_be_empty()
