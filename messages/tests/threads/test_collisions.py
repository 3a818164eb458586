"""Collision safety of replies and forwards (messages.services.send): a reply expecting the
thread's last message is refused when a newer one arrived, and an API key may not send on a
thread a person has taken."""

import pytest

from messages.exceptions import ThreadAssigned, ThreadChanged
from messages.models import Message
from messages.services import collisions, send, triage
from messages.services.provenance import SYSTEM, api_key_actor, user_actor
from messages.tests.mail_factories import MessageFactory
from sendook.exceptions import ValidationFailed

pytestmark = pytest.mark.django_db


def _as_key(key):
    return send.Sender(created_by=api_key_actor(key), api_key=key)


def _last(thread):
    return thread.messages.order_by("id").last()


def test_a_reply_expecting_the_last_message_goes(conversation, agent):
    parent = _last(conversation)
    reply = send.reply_to_message(
        parent, text="ok", sender=_as_key(agent), expected_last_message_id=parent.public_id
    )
    assert reply.status == "queued" and reply.thread_id == conversation.pk


def test_a_reply_crossing_a_newer_message_is_refused_with_its_id(conversation, agent):
    seen = _last(conversation)
    newer = MessageFactory(inbox=conversation.inbox, thread=conversation, text="third")
    before = Message.objects.count()
    for action in (
        lambda: send.reply_to_message(
            seen, text="ok", sender=_as_key(agent), expected_last_message_id=seen.public_id
        ),
        lambda: send.forward_message(
            seen,
            to=["a@example.org"],
            sender=_as_key(agent),
            expected_last_message_id=seen.public_id,
        ),
    ):
        with pytest.raises(ThreadChanged) as caught:
            action()
        assert caught.value.status_code == 409 and caught.value.code == "thread_changed"
        assert caught.value.new_message_ids == [newer.public_id]
        assert caught.value.extra == {"newMessageIds": [newer.public_id]}
    assert Message.objects.count() == before


def test_new_message_ids_are_every_newer_one_oldest_first_drafts_aside(conversation):
    first = conversation.messages.order_by("id").first()
    second = _last(conversation)
    MessageFactory(
        inbox=conversation.inbox, thread=conversation, status="draft", direction="outbound"
    )
    third = MessageFactory(inbox=conversation.inbox, thread=conversation)
    assert collisions.newer_message_ids(conversation, first.public_id) == [
        second.public_id,
        third.public_id,
    ]


def test_drafts_and_undone_sends_do_not_count_as_newer(conversation):
    seen = _last(conversation)
    for status in ("draft", "cancelled", "declined"):
        MessageFactory(
            inbox=conversation.inbox, thread=conversation, status=status, direction="outbound"
        )
    reply = send.reply_to_message(seen, text="ok", expected_last_message_id=seen.public_id)
    assert reply.status == "queued"


def test_an_expected_id_outside_the_thread_is_a_400_naming_it(conversation, inbox):
    elsewhere = MessageFactory(inbox=inbox)
    with pytest.raises(ValidationFailed) as caught:
        send.reply_to_message(
            _last(conversation), text="ok", expected_last_message_id=elsewhere.public_id
        )
    assert list(caught.value.fields) == ["expectedLastMessageId"]


def test_an_api_key_may_not_send_on_a_thread_a_person_is_assigned_to(conversation, dana, agent):
    triage.update_thread(conversation, actor=SYSTEM, assignee=dana)
    before = Message.objects.count()
    with pytest.raises(ThreadAssigned) as caught:
        send.reply_to_message(_last(conversation), text="ok", sender=_as_key(agent))
    assert caught.value.status_code == 409 and caught.value.code == "thread_assigned"
    assert caught.value.extra["assignee"]["id"] == dana.public_id
    with pytest.raises(ThreadAssigned):
        send.forward_message(_last(conversation), to=["a@example.org"], sender=_as_key(agent))
    assert Message.objects.count() == before
    # The person may reply; so may the key once it is the assignee.
    person = send.Sender(created_by=user_actor(dana.user))
    assert send.reply_to_message(_last(conversation), text="mine", sender=person).pk
    triage.update_thread(conversation, actor=SYSTEM, assignee=agent)
    assert send.reply_to_message(_last(conversation), text="ok", sender=_as_key(agent)).pk


def test_an_api_key_may_not_send_a_reply_draft_on_a_thread_a_person_took(conversation, dana, agent):
    from messages.services import drafts

    draft = drafts.create_draft(
        conversation.inbox,
        fields={"text": "drafted earlier"},
        parent=_last(conversation),
        created_by=api_key_actor(agent),
    )
    triage.update_thread(conversation, actor=SYSTEM, assignee=dana)
    with pytest.raises(ThreadAssigned):
        drafts.send_draft(draft, sender=_as_key(agent))
    assert Message.objects.get(pk=draft.pk).status == "draft"
    person = send.Sender(created_by=user_actor(dana.user))
    assert drafts.send_draft(draft, sender=person).status == "queued"
