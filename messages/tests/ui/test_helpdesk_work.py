"""Working threads from the staff UI: bulk actions, assigning (with the precondition of what
the page showed), status, snooze and notes, through the triage and notes services."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from inboxes.models import Membership
from inboxes.tests.factories import InboxFactory, MembershipFactory
from messages.models import Message, Note, Thread, ThreadActivity, ThreadStatus
from messages.tests.mail_factories import MessageFactory
from sendook.events.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def inbox(org):
    return InboxFactory(organization=org, email="support@acme.test", name="Support")


@pytest.fixture
def me(org, staff_user):
    staff_user.first_name, staff_user.last_name = "Grace", "Hopper"
    staff_user.save()
    return Membership.objects.get(organization=org, user=staff_user)


@pytest.fixture
def colleague(org):
    member = MembershipFactory(organization=org, role=Membership.Role.MEMBER)
    member.user.first_name, member.user.last_name = "Ada", "Lovelace"
    member.user.save()
    return member


@pytest.fixture
def threads(inbox):
    return [
        MessageFactory(inbox=inbox, thread__inbox=inbox, subject=f"Case {n}").thread
        for n in range(3)
    ]


@pytest.fixture
def foreign_thread(other_org):
    theirs = InboxFactory(organization=other_org, email="secret@globex.test")
    return MessageFactory(inbox=theirs, thread__inbox=theirs, subject="Globex secret").thread


def _statuses(rows):
    return [Thread.objects.get(pk=row.pk).status for row in rows]


# --- bulk actions ---------------------------------------------------------------------------


def test_bulk_close_applies_to_the_checked_threads_and_says_so(staff_client, threads):
    response = staff_client.post(
        "/threads/bulk",
        {
            "ids": [threads[0].public_id, threads[2].public_id],
            "action": "status:closed",
            "view": "open",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/threads?view=open"
    assert _statuses(threads) == ["closed", "open", "closed"]
    page = staff_client.get(response["Location"]).content.decode()
    assert "2 conversations: status closed." in page
    assert ThreadActivity.objects.filter(kind="status").count() == 2


def test_bulk_assign_to_me_then_unassign(staff_client, threads, me):
    ids = [t.public_id for t in threads]
    staff_client.post("/threads/bulk", {"ids": ids, "action": "assign:me"})
    assert {Thread.objects.get(pk=t.pk).assignee_member_id for t in threads} == {me.pk}
    page = staff_client.get("/threads?view=mine").content.decode()
    assert re.search(r">Mine <span class=\"count\">3</span>", page)
    staff_client.post("/threads/bulk", {"ids": ids[:1], "action": "assign:none"})
    assert Thread.objects.get(pk=threads[0].pk).assignee_member_id is None


def test_bulk_add_label_and_mark_unread_then_read(staff_client, threads):
    ids = [threads[1].public_id]
    staff_client.post("/threads/bulk", {"ids": ids, "action": "label:add", "bulk_label": "vip"})
    assert Thread.objects.get(pk=threads[1].pk).labels == ["vip"]
    assert Thread.objects.get(pk=threads[0].pk).labels == []

    Message.objects.update(is_read=True)
    staff_client.post("/threads/bulk", {"ids": ids, "action": "unread"})
    assert list(Message.objects.filter(is_read=False).values_list("thread_id", flat=True)) == [
        threads[1].pk
    ]
    staff_client.post("/threads/bulk", {"ids": ids, "action": "read"})
    assert not Message.objects.filter(is_read=False).exists()


def test_select_all_without_javascript_means_the_whole_page(staff_client, threads):
    staff_client.post(
        "/threads/bulk",
        {
            "select_all": "1",
            "page_ids": [t.public_id for t in threads],
            "action": "status:pending",
        },
    )
    assert _statuses(threads) == ["pending"] * 3


def test_a_foreign_or_unknown_id_is_a_form_error_and_nothing_is_applied(
    staff_client, threads, foreign_thread
):
    for stranger in (foreign_thread.public_id, "thread_nope"):
        for action in ("status:closed", "read", "label:add"):
            response = staff_client.post(
                "/threads/bulk",
                {
                    "ids": [threads[0].public_id, stranger],
                    "action": action,
                    "bulk_label": "x",
                    "view": "open",
                },
            )
            assert response.status_code == 400
            text = response.content.decode()
            assert f"No conversation {stranger} in this organization: nothing was changed." in text
            assert 'role="alert"' in text
            # The list is shown again, the rows that were checked still checked.
            assert re.search(rf'value="{threads[0].public_id}"[^>]*checked', text)
    assert _statuses(threads) == ["open"] * 3
    assert Thread.objects.get(pk=foreign_thread.pk).status == "open"
    assert all(Thread.objects.get(pk=t.pk).labels == [] for t in threads)
    assert not ThreadActivity.objects.exists()


def test_bulk_bad_input_is_a_form_error_in_words(staff_client, threads):
    one = [threads[0].public_id]
    cases = [
        ({"ids": one, "action": "explode"}, "Bulk action: explode is not an action"),
        ({"action": "status:closed"}, "Select at least one conversation"),
        (
            {"ids": one, "action": "label:add", "bulk_label": "  "},
            "Label: A label cannot be empty.",
        ),
        (
            {"ids": [f"thread_{n}" for n in range(201)], "action": "read"},
            "201 conversations are too many",
        ),
    ]
    for data, words in cases:
        response = staff_client.post("/threads/bulk", data)
        assert response.status_code == 400
        assert words in response.content.decode()
    assert _statuses(threads) == ["open"] * 3


def test_bulk_needs_a_post_and_a_login(client, staff_client, threads):
    assert staff_client.get("/threads/bulk").status_code == 302
    client.logout()
    response = client.post("/threads/bulk", {"ids": [threads[0].public_id], "action": "read"})
    assert response.status_code == 302 and response["Location"].startswith("/login")


# --- assigning --------------------------------------------------------------------------------


def test_assign_to_me_from_the_thread_page(staff_client, threads, me):
    thread = threads[0]
    page = staff_client.get(f"/threads/{thread.public_id}").content.decode()
    assert 'name="expected_assignee" value=""' in page
    response = staff_client.post(
        f"/threads/{thread.public_id}/assign", {"assignee": "me", "expected_assignee": ""}
    )
    assert response.status_code == 302
    assert Thread.objects.get(pk=thread.pk).assignee_member_id == me.pk
    page = staff_client.get(f"/threads/{thread.public_id}").content.decode()
    assert 'Assigned to <strong class="assignee">you (Grace Hopper)</strong>' in page
    assert "Assign to me" not in page
    assert Event.objects.filter(type="thread.updated").count() == 1


def test_someone_else_took_it_meanwhile_the_person_is_told_who(staff_client, threads, colleague):
    thread = threads[0]
    # The page was loaded while the thread was unassigned; then Ada took it.
    Thread.objects.filter(pk=thread.pk).update(assignee_member=colleague)
    response = staff_client.post(
        f"/threads/{thread.public_id}/assign", {"assignee": "me", "expected_assignee": ""}
    )
    assert response.status_code == 409
    text = response.content.decode()
    assert "Ada Lovelace took this conversation meanwhile, so nothing was changed" in text
    assert "it is assigned to Ada Lovelace now." in text
    assert Thread.objects.get(pk=thread.pk).assignee_member_id == colleague.pk
    # The page now shows the new state and the new precondition.
    assert f'name="expected_assignee" value="user:{colleague.public_id}"' in text


def test_assign_to_a_colleague_or_an_api_key_or_nobody_with_the_select(
    staff_client, org, threads, colleague
):
    from inboxes.api_keys import create_api_key

    key = create_api_key(org, name="Triage bot").api_key
    thread = threads[0]
    url = f"/threads/{thread.public_id}/assign"
    page = staff_client.get(f"/threads/{thread.public_id}").content.decode()
    assert f'<option value="user:{colleague.public_id}">Ada Lovelace</option>' in page
    assert f'<option value="api_key:{key.public_id}">Triage bot (API key)</option>' in page

    staff_client.post(url, {"assignee": f"user:{colleague.public_id}", "expected_assignee": ""})
    assert Thread.objects.get(pk=thread.pk).assignee_member_id == colleague.pk
    staff_client.post(
        url,
        {
            "assignee": f"api_key:{key.public_id}",
            "expected_assignee": f"user:{colleague.public_id}",
        },
    )
    row = Thread.objects.get(pk=thread.pk)
    assert row.assignee_key_id == key.pk and row.assignee_member_id is None
    staff_client.post(url, {"assignee": "", "expected_assignee": f"api_key:{key.public_id}"})
    row = Thread.objects.get(pk=thread.pk)
    assert row.assignee_key_id is None and row.assignee_member_id is None


def test_assigning_to_another_organizations_member_is_a_form_error(
    staff_client, other_org, threads
):
    stranger = MembershipFactory(organization=other_org)
    thread = threads[0]
    cases = {
        f"user:{stranger.public_id}": f"{stranger.public_id} is not a member of this organization",
        "user:user_nope": "user_nope is not a member of this organization",
        "robot:x": "Assignee: robot:x is not a member or an API key of this organization.",
    }
    for value, words in cases.items():
        response = staff_client.post(
            f"/threads/{thread.public_id}/assign", {"assignee": value, "expected_assignee": ""}
        )
        assert response.status_code == 400
        text = response.content.decode()
        assert 'id="assign-error"' in text and words in text
    assert Thread.objects.get(pk=thread.pk).assignee_member_id is None
    assert not ThreadActivity.objects.exists()


def test_work_forms_on_another_organizations_thread_are_404(staff_client, foreign_thread):
    base = f"/threads/{foreign_thread.public_id}"
    assert staff_client.post(f"{base}/assign", {"assignee": "me"}).status_code == 404
    assert staff_client.post(f"{base}/status", {"status": "closed"}).status_code == 404
    assert staff_client.post(f"{base}/notes", {"text": "hi"}).status_code == 404
    assert Thread.objects.get(pk=foreign_thread.pk).status == "open"
    assert not Note.objects.exists()


# --- status and snooze --------------------------------------------------------------------------


def test_close_and_set_status(staff_client, threads):
    thread = threads[0]
    staff_client.post(f"/threads/{thread.public_id}/status", {"status": "closed"})
    assert Thread.objects.get(pk=thread.pk).status == "closed"
    page = staff_client.get(f"/threads/{thread.public_id}").content.decode()
    assert "Reopen" in page and 'data-key="e"' not in page
    staff_client.post(f"/threads/{thread.public_id}/status", {"status": "pending"})
    assert Thread.objects.get(pk=thread.pk).status == "pending"


def test_an_unknown_status_is_a_form_error(staff_client, threads):
    thread = threads[0]
    response = staff_client.post(f"/threads/{thread.public_id}/status", {"status": "deleted"})
    assert response.status_code == 400
    assert "Status: deleted is not a status (open, pending or closed)." in response.content.decode()
    assert Thread.objects.get(pk=thread.pk).status == "open"


def test_snooze_until_a_time_in_the_viewers_zone(staff_client, threads):
    thread = threads[0]
    local = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    staff_client.post(
        f"/threads/{thread.public_id}/status",
        {"snooze": "1", "snoozed_until": local, "tz": "Europe/Paris"},
    )
    row = Thread.objects.get(pk=thread.pk)
    assert row.status == ThreadStatus.SNOOZED
    # The box's wall-clock time, read in the viewer's zone (the page's script sends it).
    expected = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("Europe/Paris"))
    assert row.snoozed_until == expected
    assert row.snoozed_until.utcoffset() is not None
    page = staff_client.get("/threads?view=snoozed").content.decode()
    assert thread.subject in page
    # Without the script (no zone sent) the time is UTC, as the page says beside the box.
    other = threads[1]
    staff_client.post(
        f"/threads/{other.public_id}/status", {"snooze": "1", "snoozed_until": local, "tz": ""}
    )
    assert Thread.objects.get(pk=other.pk).snoozed_until == datetime.fromisoformat(local).replace(
        tzinfo=UTC
    )


def test_snooze_in_the_past_is_a_form_error_and_nothing_changes(staff_client, threads):
    thread = threads[0]
    response = staff_client.post(
        f"/threads/{thread.public_id}/status",
        {"snooze": "1", "snoozed_until": "2020-01-01T09:00", "tz": "UTC"},
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Snooze until: 2020-01-01 09:00 is in the past; pick a later time." in text
    assert 'id="snooze-error"' in text
    for bad, words in (("", "pick a date and time"), ("tomorrow", "tomorrow is not a date")):
        response = staff_client.post(
            f"/threads/{thread.public_id}/status", {"snooze": "1", "snoozed_until": bad}
        )
        assert response.status_code == 400 and words in response.content.decode()
    row = Thread.objects.get(pk=thread.pk)
    assert row.status == "open" and row.snoozed_until is None


# --- notes --------------------------------------------------------------------------------------


def test_add_a_note_and_see_it_in_the_thread_with_author_and_time(staff_client, threads, me):
    thread = threads[0]
    response = staff_client.post(
        f"/threads/{thread.public_id}/notes", {"text": "Called the customer <b>back</b>"}
    )
    note = Note.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/threads/{thread.public_id}#{note.public_id}"
    assert note.author["name"] == "Grace Hopper"
    page = staff_client.get(f"/threads/{thread.public_id}").content.decode()
    block = re.search(rf'<li class="note" id="{note.public_id}">.*?</li>', page, re.DOTALL)
    assert "Grace Hopper" in block.group(0)
    assert "Called the customer &lt;b&gt;back&lt;/b&gt;" in block.group(0)
    # A note is never sent: no new message in the thread.
    assert Message.objects.filter(thread=thread).count() == 1
    assert Event.objects.filter(type="note.created").count() == 1
    activity = re.search(r'<details class="activity">.*?</details>', page, re.DOTALL).group(0)
    assert "Grace Hopper" in activity and "added a note" in activity


def test_an_empty_or_oversized_note_is_a_form_error_keeping_the_text(
    staff_client, threads, settings
):
    thread = threads[0]
    response = staff_client.post(f"/threads/{thread.public_id}/notes", {"text": "   "})
    assert response.status_code == 400
    assert "Note: it is empty" in response.content.decode()
    huge = "x" * 200_000
    response = staff_client.post(f"/threads/{thread.public_id}/notes", {"text": huge})
    assert response.status_code == 400
    text = response.content.decode()
    assert "Note:" in text and 'id="note-error"' in text
    assert huge in text  # kept in the box to shorten
    assert not Note.objects.exists()


def test_the_activity_timeline_names_who_changed_what(staff_client, threads, me):
    thread = threads[0]
    staff_client.post(f"/threads/{thread.public_id}/assign", {"assignee": "me"})
    staff_client.post(f"/threads/{thread.public_id}/status", {"status": "closed"})
    page = staff_client.get(f"/threads/{thread.public_id}").content.decode()
    activity = re.search(r'<details class="activity">.*?</details>', page, re.DOTALL).group(0)
    assert "Grace Hopper</strong> assigned it to Grace Hopper" in activity
    assert "Grace Hopper</strong> changed the status from open to closed" in activity
    assert activity.index("assigned it") < activity.index("changed the status")
