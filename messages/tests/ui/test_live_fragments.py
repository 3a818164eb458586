"""The pieces of pages the live updates fetch (messages/ui/views/fragments.py): a thread-list row,
a thread's message, the sidebar counts; and /live/events on the WSGI process (503 JSON)."""

import pytest

from inboxes.tests.factories import InboxFactory
from messages.models import Message, Thread
from messages.tests.mail_factories import MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def inbox(org):
    return InboxFactory(organization=org, email="support@acme.test", name="Support")


@pytest.fixture
def message(inbox):
    return MessageFactory(
        inbox=inbox,
        thread__inbox=inbox,
        subject="Parcel late",
        text="Where is it?",
        from_email="alice@example.com",
        from_name="Alice Example",
        is_read=False,
    )


@pytest.fixture
def foreign_message(other_org):
    theirs = InboxFactory(organization=other_org, email="secret@globex.test")
    return MessageFactory(inbox=theirs, thread__inbox=theirs, subject="Globex secret")


def test_a_threads_row_is_the_row_the_list_shows_marked_unread(staff_client, message, inbox):
    thread = message.thread
    row = staff_client.get(f"/threads/{thread.public_id}/row?view=open&inbox={inbox.public_id}")
    assert row.status_code == 200
    html = row.content.decode()
    assert html.strip().startswith('<li class="row thread-row unread"')
    assert f'data-thread="{thread.public_id}"' in html
    assert "Parcel late" in html and "Alice Example" in html
    # The list page renders the very same row.
    page = staff_client.get(f"/inboxes/{inbox.public_id}?view=open").content.decode()
    assert html.strip() in page


def test_a_row_not_in_the_lists_view_answers_204_so_the_script_drops_it(staff_client, message):
    thread = message.thread
    Thread.objects.filter(pk=thread.pk).update(status="closed")
    assert staff_client.get(f"/threads/{thread.public_id}/row?view=open").status_code == 204
    assert staff_client.get(f"/threads/{thread.public_id}/row?view=closed").status_code == 200
    # Mine: nobody's thread is not in it.
    assert staff_client.get(f"/threads/{thread.public_id}/row?view=mine").status_code == 204


def test_fragments_of_another_organizations_thread_answer_404(
    staff_client, message, foreign_message
):
    theirs = foreign_message.thread.public_id
    assert staff_client.get(f"/threads/{theirs}/row").status_code == 404
    assert (
        staff_client.get(f"/threads/{theirs}/messages/{foreign_message.public_id}").status_code
        == 404
    )
    # Their message through our thread's URL: not a message of this thread.
    ours = message.thread.public_id
    assert (
        staff_client.get(f"/threads/{ours}/messages/{foreign_message.public_id}").status_code == 404
    )
    theirs_inbox = foreign_message.inbox.public_id
    assert staff_client.get(f"/threads/{ours}/row?inbox={theirs_inbox}").status_code == 404
    assert staff_client.get(f"/live/counts?inbox={theirs_inbox}").status_code == 404


def test_a_threads_message_is_the_item_its_page_shows_and_read_marks_it_read(staff_client, message):
    url = f"/threads/{message.thread.public_id}/messages/{message.public_id}"
    item = staff_client.get(url)
    assert item.status_code == 200
    html = item.content.decode()
    assert f'id="{message.public_id}"' in html and "Where is it?" in html
    assert html.strip().startswith('<li class="message inbound"')
    message.refresh_from_db()
    assert message.is_read is False  # only looked at, not shown to the person yet
    staff_client.get(url + "?read=1")
    message.refresh_from_db()
    assert message.is_read is True


def test_the_counts_say_unread_threads_per_inbox_and_in_all(staff_client, message, inbox):
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="Second", is_read=False)
    counts = staff_client.get("/live/counts").json()
    assert counts["unread"] == 2
    assert counts["inboxes"] == {inbox.public_id: 2}
    assert counts["views"]["open"] == 2 and counts["views"]["mine"] == 0
    assert counts["approvals"] == 0 and counts["drafts"] == 0
    Message.objects.filter(pk=message.pk).update(is_read=True)
    assert staff_client.get("/live/counts").json()["unread"] == 1


def test_fragments_need_a_signed_in_member(client, message):
    answer = client.get(f"/threads/{message.thread.public_id}/row")
    assert answer.status_code == 302 and answer["Location"].startswith("/login")


def test_live_events_on_the_wsgi_process_is_503_json_naming_the_asgi_one(staff_client, client):
    for who in (staff_client, client):
        answer = who.get("/live/events")
        assert answer.status_code == 503
        assert answer["Content-Type"].startswith("application/json")
        assert answer.json()["code"] == "served_by_asgi"
    assert "/live/events is served by the ASGI process" in answer.json()["error"]


# --- who the live stream serves (messages/ui/live.py), from a real session ----------------------


def _stream_client(session_key: str):
    import asyncio

    from messages.ui.live import staff_stream_client

    scope = {"type": "http", "headers": [(b"cookie", f"sessionid={session_key}".encode())]}
    return asyncio.run(staff_stream_client(scope))


@pytest.mark.django_db(transaction=True)
def test_the_stream_serves_the_sessions_member_until_logout_removal_or_a_switch(
    client, staff_user, org, other_org
):
    from inboxes.models import Membership
    from inboxes.tests.factories import MembershipFactory
    from sendook.exceptions import SendookError

    MembershipFactory(organization=other_org, user=staff_user)
    client.force_login(staff_user)
    key = client.session.session_key
    stream = _stream_client(key)
    first = sorted([org, other_org], key=lambda o: (o.name, o.id))[0]
    assert stream.organization.pk == first.pk and stream.inbox_ids is None
    assert stream.label.startswith("member user_")
    assert stream.still_allowed() is True

    # Switching organization (the switcher's session key): this stream is no longer it.
    second = other_org if first.pk == org.pk else org
    client.post("/organization", {"organization": second.public_id})
    assert stream.still_allowed() is False
    stream = _stream_client(key)
    assert stream.organization.pk == second.pk

    # Removed from that organization: the stream ends at its next check.
    Membership.objects.filter(organization=second, user=staff_user).delete()
    assert stream.still_allowed() is False

    # Logged out: no stream at all.
    stream = _stream_client(key)
    assert stream.still_allowed() is True
    client.post("/logout")
    assert stream.still_allowed() is False
    with pytest.raises(SendookError) as refused:
        _stream_client(key)
    assert refused.value.status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_signed_in_user_of_no_organization_is_refused_with_403(client, django_user_model):
    from sendook.exceptions import SendookError

    user = django_user_model.objects.create_user("lone@example.com", "lone@example.com", "pw")
    client.force_login(user)
    with pytest.raises(SendookError) as refused:
        _stream_client(client.session.session_key)
    assert refused.value.status_code == 403 and refused.value.code == "no_organization"
