"""The reads the API and the staff UI share: scoped to an organization, one query per concept."""

import pytest

from inboxes.tests.factories import InboxFactory, MembershipFactory
from messages import selectors
from messages.exceptions import AttachmentNotFound, ThreadNotFound
from messages.models import Message
from messages.tests.mail_factories import AttachmentFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_another_organizations_thread_is_not_found_whether_or_not_an_inbox_is_given(
    org, inbox, other_inbox
):
    theirs = MessageFactory(inbox=other_inbox, thread__inbox=other_inbox).thread
    mine = MessageFactory(inbox=inbox, thread__inbox=inbox).thread

    assert selectors.get_thread(org, mine.public_id) == mine
    with pytest.raises(ThreadNotFound):
        selectors.get_thread(org, theirs.public_id)
    with pytest.raises(ThreadNotFound):
        selectors.get_thread(org, mine.public_id, inbox=InboxFactory(organization=org))


def test_a_thread_page_marks_unread_received_mail_and_real_attachments(org, inbox):
    read = MessageFactory(inbox=inbox, thread__inbox=inbox, is_read=True)
    unread = MessageFactory(inbox=inbox, thread__inbox=inbox, is_read=False)
    AttachmentFactory(message=read)
    AttachmentFactory(message=unread, inline=True)

    threads, has_next = selectors.thread_page(org, inbox=inbox)

    marks = {t.pk: (t.unread, t.has_attachments) for t in threads}
    assert marks == {read.thread_id: (False, True), unread.thread_id: (True, False)}
    assert has_next is False


def test_unread_counts_are_threads_with_unread_received_mail(org, inbox):
    thread = MessageFactory(inbox=inbox, thread__inbox=inbox, is_read=False).thread
    MessageFactory(inbox=inbox, thread=thread, is_read=False)
    MessageFactory(inbox=inbox, thread__inbox=inbox, direction=Message.Direction.OUTBOUND)

    [counted] = selectors.list_inboxes_with_unread(org)

    assert counted.unread_threads == 1


def test_an_attachment_is_found_for_members_of_its_organization_only(org, inbox, other_org):
    attachment = AttachmentFactory(message=MessageFactory(inbox=inbox, thread__inbox=inbox))
    member = MembershipFactory(organization=org).user
    outsider = MembershipFactory(organization=other_org).user

    assert selectors.get_attachment_for_member(member.pk, attachment.public_id) == attachment
    with pytest.raises(AttachmentNotFound):
        selectors.get_attachment_for_member(outsider.pk, attachment.public_id)
