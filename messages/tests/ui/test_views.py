import html
import re

import pytest

from inboxes.tests.factories import InboxFactory, MembershipFactory, OrganizationFactory
from messages.models import Message, Thread
from messages.tests.mail_factories import AttachmentFactory, MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # PBKDF2 at full strength costs a second per test user on this machine.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def inbox(org):
    return InboxFactory(organization=org, email="support@acme.test", name="Support")


@pytest.fixture
def message(inbox):
    return MessageFactory(inbox=inbox, thread__inbox=inbox, subject="Invoice 42", text="Please pay")


@pytest.fixture
def foreign_message(other_org):
    theirs = InboxFactory(organization=other_org, email="secret@globex.test")
    return MessageFactory(inbox=theirs, thread__inbox=theirs, subject="Globex secret")


def test_login_with_email_and_password_then_logout(client, staff_user):
    page = client.get("/login")
    assert page.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in page.content
    assert "script-src 'self'" in page["Content-Security-Policy"]

    response = client.post(
        "/login", {"username": staff_user.email, "password": "correct horse battery"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200

    assert client.get("/logout").status_code == 405  # logging out takes a POST
    assert client.post("/logout").status_code == 302
    assert client.get("/")["Location"].startswith("/login")


def test_wrong_password_shows_an_error(client, staff_user):
    response = client.post("/login", {"username": staff_user.email, "password": "nope"})
    assert response.status_code == 200
    assert b"Wrong email or password" in response.content


def test_pages_need_a_login(client, message):
    for url in ("/", "/threads", f"/threads/{message.thread.public_id}", "/search?q=x"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login?next=")


def test_inbox_list_shows_address_name_and_unread_count(staff_client, inbox, message):
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="second")
    read = MessageFactory(inbox=inbox, thread__inbox=inbox, subject="read", is_read=True)
    assert read.is_read

    page = staff_client.get("/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "support@acme.test" in text and "Support" in text
    assert "2 unread" in text
    assert "default-src 'none'" in page["Content-Security-Policy"]


def test_thread_list_is_newest_activity_first_with_marks(staff_client, inbox, message):
    newer = MessageFactory(inbox=inbox, thread__inbox=inbox, subject="Newer", labels=[])
    newer.thread.labels = ["vip"]
    newer.thread.save()
    AttachmentFactory(message=newer)

    page = staff_client.get(f"/inboxes/{inbox.public_id}")
    text = page.content.decode()
    assert text.index("Newer") < text.index("Invoice 42")
    assert 'class="label">vip<' in text
    assert "has attachments" in text
    assert text.count('class="row thread-row unread"') == 2


def test_thread_list_paginates(staff_client, inbox, settings):
    for n in range(52):
        MessageFactory(inbox=inbox, thread__inbox=inbox, subject=f"Subject {n:02d}")
    first = staff_client.get(f"/inboxes/{inbox.public_id}").content.decode()
    second = staff_client.get(f"/inboxes/{inbox.public_id}?page=2").content.decode()
    assert "Subject 51" in first and "Subject 00" not in first and 'rel="next"' in first
    assert "Subject 00" in second and "Subject 51" not in second and 'rel="next"' not in second


def test_all_inboxes_view_lists_every_inbox_of_the_organization(
    staff_client, org, message, foreign_message
):
    sales = InboxFactory(organization=org, email="sales@acme.test")
    MessageFactory(inbox=sales, thread__inbox=sales, subject="Sales lead")

    text = staff_client.get("/threads").content.decode()
    assert "Sales lead" in text and "Invoice 42" in text
    assert "Globex secret" not in text


def test_thread_view_shows_messages_oldest_first_and_marks_them_read(staff_client, inbox, message):
    reply = MessageFactory(thread=message.thread, inbox=inbox, text="Second message body")

    text = staff_client.get(f"/threads/{message.thread.public_id}").content.decode()
    assert text.index("Please pay") < text.index("Second message body")
    assert not Message.objects.filter(pk__in=[message.pk, reply.pk], is_read=False).exists()


def test_plain_text_quoted_history_is_collapsed(staff_client, inbox):
    row = MessageFactory(
        inbox=inbox,
        thread__inbox=inbox,
        text="Sounds good.\n\nOn Mon, Jan 5, 2026 Bob <bob@x.test> wrote:\n> earlier <b>text</b>\n> more",
    )
    text = staff_client.get(f"/threads/{row.thread.public_id}").content.decode()
    assert re.search(r"Sounds good\.</div>\s*<details class=\"quoted\">", text)
    assert "&gt; earlier &lt;b&gt;text&lt;/b&gt;" in text


def test_a_body_line_starting_with_from_stays_visible(staff_client, inbox):
    row = MessageFactory(
        inbox=inbox,
        thread__inbox=inbox,
        text="New prices start Monday.\nFrom: the team\n\nQuestions? Just reply.",
    )
    text = staff_client.get(f"/threads/{row.thread.public_id}").content.decode()
    assert re.search(r"From: the team<br>\s*<br>\s*Questions\? Just reply\.</div>", text)
    assert 'class="quoted"' not in text


def test_html_mail_is_sanitized_into_a_sandboxed_srcdoc(staff_client, inbox):
    row = MessageFactory(
        inbox=inbox,
        thread__inbox=inbox,
        html='<p onclick="steal()">Hi</p><script>alert(1)</script><a href="javascript:x()">link</a>'
        '<img src="https://tracker.example/pixel.gif">',
    )
    page = staff_client.get(f"/threads/{row.thread.public_id}")
    text = page.content.decode()
    frame = re.search(r'<iframe class="body-frame" sandbox="([^"]*)"[^>]*srcdoc="([^"]*)"', text)
    assert frame is not None
    assert "allow-scripts" not in frame.group(1) and "allow-same-origin" not in frame.group(1)
    srcdoc = frame.group(2)
    assert "&lt;p&gt;Hi&lt;/p&gt;" in srcdoc
    for hostile in ("script", "onclick", "javascript:", "tracker.example"):
        assert hostile not in srcdoc
    assert "content=\"default-src 'none'; img-src http://testserver data:;" in html.unescape(
        html.unescape(srcdoc)
    )
    assert "Show images" in text
    assert "https:" not in page["Content-Security-Policy"]


def test_show_images_allows_remote_images(staff_client, inbox):
    row = MessageFactory(
        inbox=inbox, thread__inbox=inbox, html='<img src="https://cdn.example/a.png">'
    )
    page = staff_client.get(f"/threads/{row.thread.public_id}?images=1")
    assert "cdn.example/a.png" in page.content.decode()
    assert "img-src 'self' data: https: http:" in page["Content-Security-Policy"]


def test_cid_images_point_at_signed_attachment_urls_that_serve_the_image(
    client, staff_client, inbox
):
    row = MessageFactory(inbox=inbox, thread__inbox=inbox, html='<img src="cid:logo@x">')
    image = AttachmentFactory(
        message=row,
        filename="logo.png",
        content_type="image/png",
        inline=True,
        content_id="<logo@x>",
    )
    text = staff_client.get(f"/threads/{row.thread.public_id}").content.decode()
    url = re.search(r"http://testserver(/attachments/att_[^?]+\?sig=[^&\"]+)", text).group(1)
    url = url.replace("&amp;", "&")
    assert image.public_id in url

    client.logout()  # the sandboxed frame sends no cookies: the signature alone must do
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert client.get(url[:-3] + "abc").status_code == 404


def test_attachment_download_checks_membership(staff_client, inbox, foreign_message):
    mine = AttachmentFactory(message=MessageFactory(inbox=inbox, thread__inbox=inbox))
    theirs = AttachmentFactory(message=foreign_message)

    response = staff_client.get(f"/attachments/{mine.public_id}")
    assert response.status_code == 200
    assert "attachment;" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == b"%PDF-1.4 test"
    assert staff_client.get(f"/attachments/{theirs.public_id}").status_code == 404


def test_another_organizations_rows_are_404(staff_client, foreign_message):
    thread = foreign_message.thread
    assert staff_client.get(f"/threads/{thread.public_id}").status_code == 404
    assert staff_client.get(f"/inboxes/{foreign_message.inbox.public_id}").status_code == 404
    assert staff_client.post(f"/threads/{thread.public_id}/read", {"read": "1"}).status_code == 404
    assert staff_client.post(f"/threads/{thread.public_id}/labels", {"add": "x"}).status_code == 404
    assert Thread.objects.get(pk=thread.pk).labels == []


def test_labels_are_added_and_removed_on_the_thread_and_its_messages(staff_client, message):
    thread = message.thread
    staff_client.post(f"/threads/{thread.public_id}/labels", {"add": "  urgent  "})
    thread.refresh_from_db()
    message.refresh_from_db()
    assert thread.labels == ["urgent"] and message.labels == ["urgent"]

    staff_client.post(f"/threads/{thread.public_id}/labels", {"remove": "urgent"})
    thread.refresh_from_db()
    assert thread.labels == []


def test_a_too_long_label_is_refused_with_a_message(staff_client, message):
    response = staff_client.post(f"/threads/{message.thread.public_id}/labels", {"add": "x" * 101})
    assert response.status_code == 400
    assert "at most 100 characters" in response.content.decode()


def test_mark_unread_then_read(staff_client, message):
    url = f"/threads/{message.thread.public_id}/read"
    Message.objects.filter(pk=message.pk).update(is_read=True)
    staff_client.post(url, {"read": "0"})
    message.refresh_from_db()
    assert not message.is_read
    staff_client.post(url, {"read": "1"})
    message.refresh_from_db()
    assert message.is_read


def test_forms_need_a_csrf_token(staff_user, message):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post(f"/threads/{message.thread.public_id}/read", {"read": "1"})
    assert response.status_code == 403


def test_search_highlights_matches_and_escapes_html(staff_client, inbox):
    MessageFactory(
        inbox=inbox, thread__inbox=inbox, subject="<b>Invoice</b> due", text="the invoice is due"
    )
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="Lunch", text="tacos")

    text = staff_client.get("/search", {"q": "invoice"}).content.decode()
    assert "&lt;b&gt;<mark>Invoice</mark>&lt;/b&gt; due" in text
    assert "Lunch" not in text


def test_search_with_an_operator_and_an_inbox_scope(staff_client, org, inbox):
    sales = InboxFactory(organization=org, email="sales@acme.test")
    MessageFactory(
        inbox=inbox, thread__inbox=inbox, subject="From alice", from_email="alice@x.test"
    )
    MessageFactory(
        inbox=sales, thread__inbox=sales, subject="Sales alice", from_email="alice@x.test"
    )

    text = staff_client.get(
        "/search", {"q": "from:alice", "inbox": inbox.public_id}
    ).content.decode()
    assert "From <mark>alice</mark>" in text and "Sales" not in text


def test_a_bad_search_explains_the_problem(staff_client, inbox):
    response = staff_client.get("/search", {"q": "before:tomorrow"})
    assert response.status_code == 400
    assert "&#x27;before:tomorrow&#x27; is not a date; use YYYY-MM-DD." in response.content.decode()


def test_organization_switcher_shows_only_memberships(client, staff_user, org, other_org):
    third = OrganizationFactory(name="Initech")
    MembershipFactory(organization=third, user=staff_user)
    client.force_login(staff_user)

    text = client.get("/").content.decode()
    assert "Acme" in text and "Initech" in text and "Globex" not in text

    client.post("/organization", {"organization": other_org.public_id})  # not a member: ignored
    assert client.session.get("sendook_org") != other_org.public_id
    client.post("/organization", {"organization": third.public_id})
    assert client.session["sendook_org"] == third.public_id


def test_a_user_without_organization_gets_a_clear_page(client):
    from inboxes.tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get("/")
    assert response.status_code == 403
    assert b"does not belong to any organization" in response.content


def test_the_api_and_admin_keep_their_routes(staff_client):
    assert staff_client.get("/v1/nothing-here").json()["code"] == "not_found"
    assert staff_client.get("/health").status_code in (200, 503)


def _signed_image_url(staff_client, inbox):
    row = MessageFactory(inbox=inbox, thread__inbox=inbox, html='<img src="cid:logo@x">')
    AttachmentFactory(
        message=row,
        filename="logo.png",
        content_type="image/png",
        inline=True,
        content_id="<logo@x>",
    )
    text = staff_client.get(f"/threads/{row.thread.public_id}").content.decode()
    url = re.search(r"http://testserver(/attachments/att_[^?]+\?sig=[^&\"]+)", text).group(1)
    return url.replace("&amp;", "&")


def test_signed_image_links_expire_after_the_configured_lifetime(
    client, staff_client, inbox, settings
):
    url = _signed_image_url(staff_client, inbox)
    assert client.get(url).status_code == 200
    settings.SENDOOK_ATTACHMENT_LINK_SECONDS = 0
    import time

    time.sleep(1.1)
    assert client.get(url).status_code == 404


def test_signed_image_links_end_with_a_password_change_or_a_deactivated_login(
    client, staff_client, inbox
):
    url = _signed_image_url(staff_client, inbox)
    user = staff_client.user if hasattr(staff_client, "user") else None
    from django.contrib.auth import get_user_model

    user = user or get_user_model().objects.get(pk=staff_client.session["_auth_user_id"])
    user.set_password("a-new-password-123")
    user.save()
    assert client.get(url).status_code == 404
