"""The staff UI as a helpdesk: views and counts, the thread list's rows, pagination, the thread
page's layout (notes, folded messages, frames, previews) and its query counts."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inboxes.models import Membership
from inboxes.tests.factories import InboxFactory, MembershipFactory
from messages.models import Note, Thread, ThreadStatus
from messages.tests.mail_factories import AttachmentFactory, MessageFactory

pytestmark = pytest.mark.django_db

EN_DASH = "\u2013"  # the pagination's "1\u201350 of 312"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def inbox(org):
    return InboxFactory(organization=org, email="support@acme.test", name="Support")


@pytest.fixture
def me(org, staff_user):
    return Membership.objects.get(organization=org, user=staff_user)


def _thread(inbox, subject, *, status=ThreadStatus.OPEN, assignee=None, **message):
    row = MessageFactory(inbox=inbox, thread__inbox=inbox, subject=subject, **message)
    thread = row.thread
    thread.status = status
    if status == ThreadStatus.SNOOZED:
        thread.snoozed_until = timezone.now() + timezone.timedelta(days=1)
    thread.assignee_member = assignee
    thread.save()
    return thread


def _count(page: str, name: str) -> int:
    match = re.search(rf">{name} <span class=\"count\">(\d+)</span>", page)
    assert match is not None, f"no view link {name} with a count"
    return int(match.group(1))


def _subjects(page: str) -> list[str]:
    return re.findall(r'class="row-link subject">([^<]*)<', page)


@pytest.fixture
def desk(org, inbox, me):
    colleague = MembershipFactory(organization=org)
    return {
        "mine": _thread(inbox, "Mine open", assignee=me),
        "theirs": _thread(inbox, "Colleague's", assignee=colleague),
        "free": _thread(inbox, "Nobody's"),
        "pending": _thread(inbox, "Waiting on customer", status=ThreadStatus.PENDING),
        "snoozed": _thread(inbox, "Later", status=ThreadStatus.SNOOZED),
        "closed": _thread(inbox, "Done deal", status=ThreadStatus.CLOSED, assignee=me),
    }


def test_each_view_lists_its_threads_and_the_sidebar_counts_them(staff_client, desk):
    expected = {
        "mine": ["Mine open"],
        # Mine and Unassigned: what is still worked on (open or pending).
        "unassigned": ["Waiting on customer", "Nobody's"],
        "open": ["Nobody's", "Colleague's", "Mine open"],
        "pending": ["Waiting on customer"],
        "snoozed": ["Later"],
        "closed": ["Done deal"],
    }
    names = {
        "mine": "Mine",
        "unassigned": "Unassigned",
        "open": "All open",
        "pending": "Pending",
        "snoozed": "Snoozed",
        "closed": "Closed",
    }
    for view, subjects in expected.items():
        page = staff_client.get(f"/threads?view={view}").content.decode()
        assert [s.replace("&#x27;", "'") for s in _subjects(page)] == subjects, view
        for other, listed in expected.items():
            assert _count(page, names[other]) == len(listed)
        assert f'href="/threads?view={view}" class="view-link active" aria-current="page"' in page


def test_the_default_view_is_all_open_and_an_unknown_view_falls_back_to_it(staff_client, desk):
    for url in ("/threads", "/threads?view=nonsense"):
        page = staff_client.get(url).content.decode()
        assert "<h1>All open" in page
        assert "Done deal" not in page and "Nobody&#x27;s" in page


def test_per_inbox_views_count_only_that_inbox(staff_client, org, inbox, desk):
    sales = InboxFactory(organization=org, email="sales@acme.test")
    _thread(sales, "Sales lead")
    page = staff_client.get(f"/inboxes/{sales.public_id}?view=open").content.decode()
    assert _subjects(page) == ["Sales lead"]
    assert _count(page, "All open") == 1 and _count(page, "Closed") == 0
    assert f'href="/inboxes/{sales.public_id}?view=unassigned"' in page
    everywhere = staff_client.get("/threads?view=open").content.decode()
    assert _count(everywhere, "All open") == 4


def test_another_organizations_threads_are_not_counted(staff_client, other_org, desk):
    theirs = InboxFactory(organization=other_org)
    _thread(theirs, "Globex open")
    page = staff_client.get("/threads?view=open").content.decode()
    assert _count(page, "All open") == 3 and "Globex open" not in page


def test_labels_are_in_the_sidebar_and_filter_the_view(staff_client, org, inbox, other_org):
    vip = _thread(inbox, "Big customer")
    vip.labels = ["vip", "billing"]
    vip.save()
    _thread(inbox, "Small customer")
    secret = _thread(InboxFactory(organization=other_org), "Theirs")
    secret.labels = ["globex-only"]
    secret.save()

    page = staff_client.get("/threads").content.decode()
    assert 'aria-label="Labels"' in page
    assert 'href="/threads?view=open&amp;label=vip"' in page
    assert 'href="/threads?view=open&amp;label=billing"' in page
    assert "globex-only" not in page
    filtered = staff_client.get("/threads?view=open&label=vip").content.decode()
    assert _subjects(filtered) == ["Big customer"]
    # The subject first, its labels after it.
    assert re.search(r'>Big customer</a>\s*<span class="label">vip</span>', filtered)


def test_a_label_added_in_the_ui_is_in_the_sidebar_at_once(staff_client, inbox):
    thread = _thread(inbox, "Fresh")
    assert "label=urgent" not in staff_client.get("/threads").content.decode()
    staff_client.post(
        "/threads/bulk", {"ids": [thread.public_id], "action": "label:add", "bulk_label": "urgent"}
    )
    assert (
        'href="/threads?view=open&amp;label=urgent"'
        in staff_client.get("/threads").content.decode()
    )
    staff_client.post(f"/threads/{thread.public_id}/labels", {"add": "later"})
    assert "label=later" in staff_client.get("/threads").content.decode()


def test_a_row_shows_sender_names_me_the_count_and_the_assignee(staff_client, org, inbox, me):
    first = MessageFactory(
        inbox=inbox,
        thread__inbox=inbox,
        subject="Refund please",
        from_email="ada@example.com",
        from_name="Ada Lovelace",
    )
    thread = first.thread
    MessageFactory(inbox=inbox, thread=thread, from_email="support@acme.test", direction="outbound")
    MessageFactory(inbox=inbox, thread=thread, from_email="ADA@example.com", from_name="Ada L.")
    thread.refresh_from_db()
    thread.assignee_member = me
    thread.save()
    me.user.first_name, me.user.last_name = "Grace", "Hopper"
    me.user.save()

    page = staff_client.get("/threads?view=open").content.decode()
    row = re.search(r'<li class="row thread-row[^"]*".*?</li>', page, re.DOTALL).group(0)
    assert re.search(r'class="senders">.*Ada Lovelace, me', row, re.DOTALL)
    assert "ada@example.com" not in row.split('class="summary"')[0]
    assert 'aria-label="3 messages">(3)</span>' in row
    assert '<span class="assignee" title="Assignee">Grace Hopper</span>' in row
    assert 'aria-label="Select Refund please"' in row
    assert 'name="ids" value="' + thread.public_id + '"' in row


def test_a_thread_of_only_our_own_mail_says_me_and_whom_it_went_to(staff_client, inbox):
    MessageFactory(
        inbox=inbox,
        thread__inbox=inbox,
        subject="Outreach",
        from_email="support@acme.test",
        direction="outbound",
        to=["bob@example.org"],
    )
    page = staff_client.get("/threads?view=open").content.decode()
    assert re.search(r'class="senders">me, to bob@example.org', page)


def test_pagination_says_which_rows_of_how_many(staff_client, inbox):
    for n in range(53):
        MessageFactory(inbox=inbox, thread__inbox=inbox, subject=f"Subject {n:02d}")
    first = staff_client.get("/threads?view=open").content.decode()
    assert f'<span class="range">1{EN_DASH}50 of 53</span>' in first
    assert 'href="?view=open&amp;page=2" rel="next"' in first
    second = staff_client.get("/threads?view=open&page=2").content.decode()
    assert f'<span class="range">51{EN_DASH}53 of 53</span>' in second
    assert 'href="?view=open&amp;page=1" rel="prev"' in second and 'rel="next"' not in second
    assert _subjects(second) == ["Subject 02", "Subject 01", "Subject 00"]


def test_an_empty_view_says_so(staff_client, inbox):
    page = staff_client.get("/threads?view=snoozed").content.decode()
    assert "No conversations" in page and 'class="range"' not in page
    assert _count(page, "Snoozed") == 0


def _list_queries(client, url: str) -> int:
    cache.clear()  # the sidebar's labels are cached for a few seconds: count their query too
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_thread_list_costs_the_same_queries_however_many_threads(staff_client, inbox, me):
    for n in range(51):  # more than a page: the "of N" count runs
        _thread(inbox, f"Early {n}")
    few = _list_queries(staff_client, "/threads?view=open")
    for n in range(40):
        thread = _thread(inbox, f"Late {n}", assignee=me if n % 2 else None)
        MessageFactory(inbox=inbox, thread=thread, from_name=f"Person {n}")
        AttachmentFactory(message=thread.messages.first())
        thread.labels = [f"label {n}"]
        thread.save()
    many = _list_queries(staff_client, "/threads?view=open")
    assert many == few
    assert many <= 16
    assert _list_queries(staff_client, f"/inboxes/{inbox.public_id}?view=mine") <= few


# --- the thread page ----------------------------------------------------------------------------


def test_notes_are_shown_between_messages_in_time_order_with_author_and_time(
    staff_client, org, inbox
):
    first = MessageFactory(inbox=inbox, thread__inbox=inbox, text="First message body")
    thread = first.thread
    note = Note.objects.create(
        organization=org,
        thread=thread,
        author={"type": "user", "id": "1", "name": "Grace Hopper"},
        text="Customer is a VIP <b>careful</b>",
    )
    MessageFactory(inbox=inbox, thread=thread, text="Second message body")

    page = staff_client.get(f"/threads/{thread.public_id}").content.decode()
    assert (
        page.index("First message body")
        < page.index("Customer is a VIP")
        < page.index("Second message body")
    )
    block = re.search(rf'<li class="note" id="{note.public_id}">.*?</li>', page, re.DOTALL)
    assert block is not None
    assert "Grace Hopper" in block.group(0)
    assert "&lt;b&gt;careful&lt;/b&gt;" in block.group(0)
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT', block.group(0))


def test_the_thread_page_has_the_controls_the_browser_tests_name(staff_client, inbox):
    thread = _thread(inbox, "Controls")
    page = staff_client.get(f"/threads/{thread.public_id}").content.decode()
    assert re.search(r'<button type="submit" data-key="a">Assign to me</button>', page)
    assert re.search(r'<button type="submit" data-key="e">Close</button>', page)
    for label, control in (
        ("Assignee", "assignee-select"),
        ("Status", "status-select"),
        ("Snooze until", "snooze-until"),
        ("Note", "note-text"),
    ):
        assert f'<label for="{control}">{label}</label>' in page
        assert f'id="{control}"' in page
    assert 'type="datetime-local" name="snoozed_until" id="snooze-until"' in page
    for button in ("Assign", "Set status", "Snooze", "Add note"):
        assert f'<button type="submit">{button}</button>' in page
    assert '<details class="activity">\n      <summary>Activity</summary>' in page


def test_a_long_thread_folds_its_older_messages_into_one_line_each(staff_client, inbox):
    first = MessageFactory(
        inbox=inbox, thread__inbox=inbox, text="Body 0", from_name="Ada Lovelace"
    )
    for n in range(1, 6):
        MessageFactory(inbox=inbox, thread=first.thread, text=f"Body {n}")
    page = staff_client.get(f"/threads/{first.thread.public_id}").content.decode()
    folded = re.findall(r'<li class="message collapsed[^"]*" id="(msg_\w+)">\s*<details', page)
    assert len(folded) == 3
    assert page.count('<details class="fold">') == 3
    # A one-line summary: who and the start of the text, then the message inside.
    assert re.search(
        r'<summary><strong class="from">Ada Lovelace</strong> <span class="preview">Body 0</span>',
        page,
    )
    open_bodies = re.findall(r'<li class="message inbound" id="msg_\w+">', page)
    assert len(open_bodies) == 3


def test_a_short_thread_folds_nothing(staff_client, inbox):
    first = MessageFactory(inbox=inbox, thread__inbox=inbox)
    for _ in range(3):
        MessageFactory(inbox=inbox, thread=first.thread)
    page = staff_client.get(f"/threads/{first.thread.public_id}").content.decode()
    assert 'class="fold"' not in page


def test_html_frames_get_a_height_from_their_content(staff_client, inbox):
    short = MessageFactory(inbox=inbox, thread__inbox=inbox, html="<p>Hi</p>")
    long = MessageFactory(
        inbox=inbox,
        thread__inbox=inbox,
        html="".join(f"<p>Paragraph {n} of a long newsletter, with words.</p>" for n in range(60))
        + '<img src="cid:x" height="300">',
    )

    def height(message):
        page = staff_client.get(f"/threads/{message.thread.public_id}").content.decode()
        frame = re.search(
            r'<iframe class="body-frame" sandbox="([^"]*)"[^>]*style="height:(\d+)px"', page
        )
        assert "allow-scripts" not in frame.group(1) and "allow-same-origin" not in frame.group(1)
        return int(frame.group(2))

    assert 80 <= height(short) <= 150
    assert height(long) > 1200


def test_image_attachments_show_as_thumbnails_and_pdfs_have_a_preview(staff_client, inbox):
    row = MessageFactory(inbox=inbox, thread__inbox=inbox)
    image = AttachmentFactory(message=row, filename="photo.png", content_type="image/png")
    pdf = AttachmentFactory(message=row, filename="invoice.pdf", content_type="application/pdf")
    page = staff_client.get(f"/threads/{row.thread.public_id}").content.decode()
    assert f'<img src="/attachments/{image.public_id}" alt="photo.png" class="thumb"' in page
    assert f'href="/attachments/{pdf.public_id}?preview=1"' in page
    assert 'aria-label="Preview invoice.pdf">Preview</a>' in page
    assert f'href="/attachments/{pdf.public_id}?download=1" class="download" download' in page
    assert f'<img src="/attachments/{pdf.public_id}"' not in page


def test_a_pdf_preview_is_served_inline_as_pdf_and_the_download_still_downloads(
    staff_client, inbox
):
    pdf = AttachmentFactory(
        message=MessageFactory(inbox=inbox, thread__inbox=inbox),
        filename="invoice.pdf",
        content_type="application/pdf",
    )
    preview = staff_client.get(f"/attachments/{pdf.public_id}?preview=1")
    assert preview.status_code == 200
    assert preview["Content-Type"] == "application/pdf"
    assert preview["Content-Disposition"].startswith("inline")
    assert preview["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in preview["Content-Security-Policy"]
    download = staff_client.get(f"/attachments/{pdf.public_id}")
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"].startswith("attachment")
    forced = staff_client.get(f"/attachments/{pdf.public_id}?preview=1&download=1")
    assert forced["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("page.html", "text/html"), ("logo.svg", "image/svg+xml"), ("x.pdf", "text/html")],
)
def test_html_and_svg_attachments_are_never_shown_inline(staff_client, inbox, name, content_type):
    evil = AttachmentFactory(
        message=MessageFactory(inbox=inbox, thread__inbox=inbox),
        filename=name,
        content_type=content_type,
    )
    for query in ("", "?preview=1"):
        response = staff_client.get(f"/attachments/{evil.public_id}{query}")
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]
    page = staff_client.get(f"/threads/{evil.message.thread.public_id}").content.decode()
    assert f'<img src="/attachments/{evil.public_id}"' not in page
    assert f"/attachments/{evil.public_id}?preview=1" not in page


def test_an_image_download_link_forces_a_download(staff_client, inbox):
    image = AttachmentFactory(
        message=MessageFactory(inbox=inbox, thread__inbox=inbox),
        filename="photo.png",
        content_type="image/png",
    )
    shown = staff_client.get(f"/attachments/{image.public_id}")
    assert shown["Content-Type"] == "image/png"
    downloaded = staff_client.get(f"/attachments/{image.public_id}?download=1")
    assert downloaded["Content-Disposition"].startswith("attachment")


def test_the_thread_page_costs_the_same_queries_for_a_short_or_long_thread(
    staff_client, org, inbox
):
    first = MessageFactory(inbox=inbox, thread__inbox=inbox)
    thread = first.thread
    url = f"/threads/{thread.public_id}"
    few = _list_queries(staff_client, url)
    for n in range(20):
        message = MessageFactory(inbox=inbox, thread=thread, html=f"<p>{n}</p>")
        AttachmentFactory(message=message)
        Note.objects.create(organization=org, thread=thread, author={"name": "A"}, text=str(n))
    many = _list_queries(staff_client, url)
    assert many == few
    assert Thread.objects.get(pk=thread.pk).message_count == 21
