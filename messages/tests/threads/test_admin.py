"""The admin shows threads' status, assignee and snooze time (filterable), their notes, and
notes and activity read-only."""

import pytest
from django.contrib.auth import get_user_model

from messages.services import notes, triage
from messages.services.provenance import SYSTEM
from messages.tests.mail_factories import MessageFactory, ThreadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root@x.example", "root@x.example", "pw-pw-pw")
    client.force_login(user)
    return client


def test_threads_are_filterable_by_status_and_assignee_with_notes_inline(
    admin_client, conversation, dana, inbox
):
    triage.update_thread(conversation, actor=SYSTEM, status="pending", assignee=dana)
    notes.add_note(conversation, actor=SYSTEM, text="Refund <b>approved</b>")
    other = MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox)).thread
    listing = admin_client.get("/admin/mail/thread/", {"status": "pending", "assignee": "member"})
    assert listing.status_code == 200
    html = listing.content.decode()
    assert conversation.public_id in html and other.public_id not in html
    assert "Dana Scully" in html
    nobody = admin_client.get("/admin/mail/thread/", {"assignee": "none"}).content.decode()
    assert other.public_id in nobody and conversation.public_id not in nobody
    page = admin_client.get(f"/admin/mail/thread/{conversation.pk}/change/").content.decode()
    assert "Refund &lt;b&gt;approved&lt;/b&gt;" in page and "<b>approved</b>" not in page


def test_notes_and_activity_are_listed_read_only(admin_client, conversation):
    triage.update_thread(conversation, actor=SYSTEM, status="closed")
    note = notes.add_note(conversation, actor=SYSTEM, text="done")
    assert note.public_id in admin_client.get("/admin/mail/note/").content.decode()
    activity = admin_client.get("/admin/mail/threadactivity/", {"kind": "status"})
    assert activity.status_code == 200 and "closed" in activity.content.decode()
    assert admin_client.get("/admin/mail/note/add/").status_code == 403
    change = admin_client.post(f"/admin/mail/note/{note.pk}/change/", {"text": "edited"})
    assert change.status_code in (200, 403)
    note.refresh_from_db()
    assert note.text == "done"
