"""list_threads' filters and thread_counts (the staff UI's sidebar views), members_of."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inboxes import selectors as inbox_selectors
from inboxes.exceptions import MemberNotFound
from messages import selectors
from messages.services import triage
from messages.services.provenance import SYSTEM
from messages.tests.mail_factories import MessageFactory, ThreadFactory

pytestmark = pytest.mark.django_db


def _thread(inbox, **changes):
    thread = MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox)).thread
    return triage.update_thread(thread, actor=SYSTEM, **changes) if changes else thread


@pytest.fixture
def board(org, inbox, dana, fox, agent):
    later = timezone.now() + timedelta(hours=3)
    return {
        "mine_open": _thread(inbox, assignee=dana),
        "mine_pending": _thread(inbox, assignee=dana, status="pending"),
        "mine_closed": _thread(inbox, assignee=dana, status="closed"),
        "fox": _thread(inbox, assignee=fox),
        "agent": _thread(inbox, assignee=agent, add_labels=["vip"]),
        "free": _thread(inbox),
        "free_snoozed": _thread(inbox, snoozed_until=later),
    }


def _names(board, rows):
    by_pk = {thread.pk: name for name, thread in board.items()}
    return sorted(by_pk[row.pk] for row in rows)


def test_filters_by_status_assignee_and_label(org, board, dana, agent):
    def listed(**filters):
        return _names(board, selectors.list_threads(org, **filters))

    assert listed(status="closed") == ["mine_closed"]
    assert listed(status=["open", "pending"], assignee=dana) == ["mine_open", "mine_pending"]
    assert listed(assignee="none") == ["free", "free_snoozed"]
    assert listed(assignee=agent) == ["agent"]
    assert listed(label="vip") == ["agent"]
    assert listed(status="snoozed") == ["free_snoozed"]


def test_counts_match_what_each_view_lists(org, board, dana, inbox):
    counts = selectors.thread_counts(org, member=dana)
    assert counts == {
        "mine": 2,
        "unassigned": 1,
        "open": 4,
        "pending": 1,
        "snoozed": 1,
        "closed": 1,
    }
    for view, count in counts.items():
        rows = selectors.list_threads(org, **selectors.view_filters(view, member=dana))
        assert rows.count() == count, view
    assert selectors.thread_counts(org, member=dana, inbox_ids=["inbox_nope"])["open"] == 0
    assert selectors.thread_counts(org, member=dana, inbox=inbox) == counts


def test_counts_are_one_query(org, board, dana, django_assert_num_queries):
    with django_assert_num_queries(1):
        selectors.thread_counts(org, member=dana)


def test_the_api_thread_object_names_its_assignee(org, board, dana):
    from messages.payloads import thread_payload

    thread = selectors.get_thread(org, board["mine_open"].public_id)
    data = thread_payload(thread)
    assert data["assignee"] == {"type": "user", "id": dana.public_id, "name": "Dana Scully"}
    assert data["status"] == "open" and "snoozedUntil" not in data
    assert data["lastMessageId"] == data["messages"][-1]


def test_members_of_an_organization_and_one_by_id(org, dana, fox, outsider):
    assert list(inbox_selectors.members_of(org)) == [dana, fox]
    assert inbox_selectors.get_member(org, fox.public_id) == fox
    with pytest.raises(MemberNotFound):
        inbox_selectors.get_member(org, outsider.public_id)
    assert inbox_selectors.member_of_user(org, dana.user) == dana
