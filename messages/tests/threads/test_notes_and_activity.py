"""Notes (messages.services.notes) and the activity timeline (messages.services.activity)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messages.models import Message, Note
from messages.services import approvals, notes, send, triage
from messages.services.activity import thread_activity
from messages.services.provenance import SYSTEM, api_key_actor, user_actor
from sendook.exceptions import ValidationFailed

pytestmark = pytest.mark.django_db


def test_a_note_is_stored_with_its_author_and_announced(conversation, dana, events):
    actor = user_actor(dana.user)
    note = notes.add_note(conversation, actor=actor, text="  Called them, waiting.\n")
    assert note.text == "  Called them, waiting." and note.author == actor
    (payload,) = events("note.created")
    assert payload == {
        "id": note.public_id,
        "_id": note.public_id,
        "threadId": conversation.public_id,
        "inboxId": conversation.inbox.public_id,
        "author": actor,
        "text": "  Called them, waiting.",
        "createdAt": payload["createdAt"],
    }
    assert payload["createdAt"].endswith("Z")


@pytest.mark.parametrize("text", ["", "   \n ", None, "a\x00b"])
def test_an_empty_or_unstorable_note_is_refused_naming_text(conversation, text):
    with pytest.raises(ValidationFailed) as caught:
        notes.add_note(conversation, actor=SYSTEM, text=text)
    assert list(caught.value.fields) == ["text"]
    assert not Note.objects.exists()


def test_a_note_over_the_limit_is_refused_saying_the_limit(conversation, settings):
    settings.SENDOOK_NOTE_MAX_CHARS = 20
    with pytest.raises(ValidationFailed) as caught:
        notes.add_note(conversation, actor=SYSTEM, text="x" * 21)
    assert "at most 20 characters; this one is 21" in caught.value.fields["text"][0]
    assert notes.add_note(conversation, actor=SYSTEM, text="x" * 20).pk


def test_the_timeline_merges_messages_notes_changes_holds_and_decisions_in_order(
    conversation, dana, agent
):
    person, bot = user_actor(dana.user), api_key_actor(agent)
    triage.update_thread(conversation, actor=person, assignee=dana)
    notes.add_note(conversation, actor=person, text="on it")
    parent = conversation.messages.order_by("id").last()
    inbox = conversation.inbox
    inbox.send_approval = "always"
    inbox.save()
    parent.inbox = inbox
    held = send.reply_to_message(parent, text="draft answer", sender=send.Sender(created_by=person))
    approvals.approve_message(held, by=person)
    triage.update_thread(conversation, actor=bot, status="closed", add_labels=["done"])
    timeline = thread_activity(conversation)
    kinds = [entry["type"] for entry in timeline]
    assert kinds == [
        "message",
        "message",
        "assignment",
        "note",
        "message",
        "hold",
        "approval",
        "status",
        "labels",
    ]
    # Factory-made mail has no provenance (the inbound actor: test_inbound.py).
    assert "actor" not in timeline[0]
    assert timeline[2]["actor"] == person
    assert timeline[2]["changes"]["assignee"]["to"]["id"] == dana.public_id
    assert timeline[3]["text"] == "on it" and timeline[3]["actor"] == person
    assert timeline[4]["messageId"] == held.public_id and timeline[4]["actor"] == person
    assert timeline[5]["reason"] == "always" and timeline[5]["actor"] == SYSTEM
    assert timeline[6]["actor"] == person and timeline[6]["edited"] is False
    assert timeline[7]["actor"] == bot and timeline[7]["changes"]["status"]["to"] == "closed"
    assert timeline[8]["changes"]["labels"]["added"] == ["done"]
    stamps = [entry["at"] for entry in timeline]
    assert stamps == sorted(stamps) and all(stamp.endswith("Z") for stamp in stamps)
    assert len({entry["id"] for entry in timeline}) == len(timeline)


def test_a_declined_send_and_a_scheduled_one_show_in_the_timeline(conversation):
    parent = conversation.messages.order_by("id").last()
    inbox = parent.inbox
    inbox.send_approval = "always"
    inbox.save()
    held = send.reply_to_message(parent, text="no")
    approvals.reject_message(held, by=SYSTEM, reason="tone")
    inbox.send_approval = "never"
    inbox.save()
    later = send.reply_to_message(
        parent, text="later", sender=send.Sender(send_at=timezone.now() + timedelta(hours=1))
    )
    entries = {(e["type"], e.get("messageId")): e for e in thread_activity(conversation)}
    assert entries[("decline", held.public_id)]["reason"] == "tone"
    assert entries[("message", later.public_id)]["status"] == "scheduled"
    assert entries[("message", later.public_id)]["sendAt"].endswith("Z")
    drafts = Message.objects.filter(status="draft").count()
    assert drafts == 0
