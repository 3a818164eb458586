"""The shared-threads API: thread fields and filters, PATCH, bulk, notes, activity, members,
and collision safety on reply, reply-all and forward."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from inboxes.api_keys import revoke_api_key
from inboxes.services import create_api_key
from inboxes.tests.factories import InboxFactory
from messages.models import Message, Note, Thread, ThreadActivity
from messages.services import triage
from messages.services.provenance import SYSTEM
from messages.tests.mail_factories import MessageFactory, ThreadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.SENDOOK_API_RATE_LIMIT = "100000/m"
    settings.SENDOOK_SEND_RATE_LIMIT = "100000/h"


def _client(secret):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _url(thread, tail=""):
    return f"/v1/inboxes/{thread.inbox.public_id}/threads/{thread.public_id}{tail}"


def _patch(client, thread, body):
    return client.patch(_url(thread), body, format="json")


def _fresh(thread):
    return Thread.objects.get(pk=thread.pk)


def _ref(member):
    return {"type": "user", "id": member.public_id}


# --- the thread object and the list -----------------------------------------------------------


def test_a_thread_shows_status_assignee_and_last_message(api_client, conversation, dana):
    triage.update_thread(conversation, actor=SYSTEM, assignee=dana)
    body = api_client.get(_url(conversation)).json()
    assert body["status"] == "open" and "snoozedUntil" not in body
    assert body["assignee"] == {"type": "user", "id": dana.public_id, "name": "Dana Scully"}
    assert body["lastMessageId"] == body["messages"][-1]["id"]
    listed = api_client.get(f"/v1/inboxes/{conversation.inbox.public_id}/threads").json()
    assert listed[0]["assignee"] == body["assignee"]
    assert listed[0]["messages"] == [m["id"] for m in body["messages"]]


def test_the_thread_shape_matches_its_declared_schema_fields(api_client, conversation, dana):
    from messages.api.serializers import ThreadSerializer

    thread = triage.update_thread(
        conversation,
        actor=SYSTEM,
        assignee=dana,
        snoozed_until=timezone.now() + timedelta(hours=1),
    )
    serializer = ThreadSerializer(thread)
    assert set(serializer.data) == set(serializer.fields)


def test_the_list_filters_by_status_assignee_and_label(api_client, inbox, dana, org):
    key = create_api_key(org, name="bot").api_key
    mine_key = _own_key(api_client)  # the client's own key is "me"
    threads = {
        name: MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox)).thread
        for name in ("dana", "me", "other_key", "closed", "free")
    }
    triage.update_thread(threads["dana"], actor=SYSTEM, assignee=dana, add_labels=["vip"])
    triage.update_thread(threads["me"], actor=SYSTEM, assignee=mine_key, status="pending")
    triage.update_thread(threads["other_key"], actor=SYSTEM, assignee=key)
    triage.update_thread(threads["closed"], actor=SYSTEM, status="closed")
    base = f"/v1/inboxes/{inbox.public_id}/threads"
    by_pk = {thread.public_id: name for name, thread in threads.items()}

    def listed(query):
        response = api_client.get(f"{base}?{query}")
        assert response.status_code == 200, response.json()
        return sorted(by_pk[row["id"]] for row in response.json())

    assert listed("assignee=me") == ["me"]
    assert listed("assignee=none") == ["closed", "free"]
    assert listed(f"assignee={dana.public_id}") == ["dana"]
    assert listed(f"assignee={key.public_id}") == ["other_key"]
    assert listed("status=closed") == ["closed"]
    assert listed("status=open,pending&assignee=none") == ["free"]
    assert listed("status=open&status=pending") == ["dana", "free", "me", "other_key"]
    assert listed("label=vip") == ["dana"]


def _own_key(client):
    from inboxes.models import ApiKey

    return ApiKey.objects.get(organization=client.organization, name="test")


def test_bad_list_filters_are_400s_naming_them(api_client, inbox, outsider):
    base = f"/v1/inboxes/{inbox.public_id}/threads"
    for query, field in (
        ("status=archived", "status"),
        ("status=open,nope", "status"),
        ("assignee=someone", "assignee"),
        (f"assignee={outsider.public_id}", "assignee"),
        ("assignee=user_01UNKNOWN", "assignee"),
    ):
        response = api_client.get(f"{base}?{query}")
        assert response.status_code == 400, query
        assert list(response.json()["fields"]) == [field], query
    foreign = api_client.get(f"{base}?assignee={outsider.public_id}").json()
    unknown = api_client.get(f"{base}?assignee=user_01UNKNOWN").json()
    assert foreign["code"] == unknown["code"] == "invalid_assignee"


# --- PATCH ------------------------------------------------------------------------------------


def test_patch_changes_status_assignee_and_labels_and_emits_one_event(
    api_client, conversation, dana, events
):
    response = _patch(
        api_client,
        conversation,
        {"status": "pending", "assignee": _ref(dana), "addLabels": ["vip"]},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["assignee"]["id"] == dana.public_id
    assert "vip" in body["labels"] and len(body["messages"]) == 2
    (payload,) = events("thread.updated")
    assert set(payload["changes"]) == {"status", "assignee", "labels"}
    assert payload["actor"]["type"] == "api_key"
    assert ThreadActivity.objects.filter(thread=conversation).count() == 3


def test_patch_snoozes_and_unassigns(api_client, conversation, agent):
    triage.update_thread(conversation, actor=SYSTEM, assignee=agent)
    until = (timezone.now() + timedelta(days=1)).isoformat()
    body = _patch(api_client, conversation, {"snoozedUntil": until, "assignee": None}).json()
    assert body["status"] == "snoozed" and body["snoozedUntil"].endswith("Z")
    assert "assignee" not in body
    body = _patch(api_client, conversation, {"snoozedUntil": None}).json()
    assert body["status"] == "open" and "snoozedUntil" not in body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "archived"}, "status"),
        ({"status": 7}, "status"),
        ({"snoozedUntil": "2020-01-01T00:00:00Z"}, "snoozedUntil"),
        ({"snoozedUntil": "tomorrow"}, "snoozedUntil"),
        ({"status": "snoozed"}, "snoozedUntil"),
        ({"assignee": "dana"}, "assignee"),
        ({"assignee": {"type": "robot", "id": "x"}}, "assignee"),
        ({"assignee": {"type": "user", "id": "user_01UNKNOWN"}}, "assignee"),
        ({"expectedAssignee": ["x"]}, "expectedAssignee"),
        ({"addLabels": "vip"}, "addLabels"),
    ],
)
def test_patch_bad_input_is_a_400_naming_the_field_and_changes_nothing(
    api_client, conversation, body, field, events
):
    response = _patch(api_client, conversation, {**body, "removeLabels": ["billing"]})
    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"], response.json()
    fresh = _fresh(conversation)
    assert fresh.status == "open" and fresh.labels == ["billing"]
    assert events("thread.updated") == []


def test_patch_assigning_another_organizations_member_or_a_revoked_key_is_refused(
    api_client, conversation, outsider, org, other_org
):
    revoked = create_api_key(org, name="old").api_key
    revoke_api_key(revoked)
    theirs = create_api_key(other_org, name="theirs").api_key
    for ref in (
        _ref(outsider),
        {"type": "api_key", "id": revoked.public_id},
        {"type": "api_key", "id": theirs.public_id},
    ):
        response = _patch(api_client, conversation, {"assignee": ref, "status": "closed"})
        assert response.status_code == 400 and response.json()["code"] == "invalid_assignee"
        assert list(response.json()["fields"]) == ["assignee"]
    fresh = _fresh(conversation)
    assert fresh.status == "open" and fresh.assignee_member is None and fresh.assignee_key is None


def test_patch_with_a_stale_expected_assignee_is_a_409_naming_the_current_one(
    api_client, conversation, dana, fox
):
    taken = _patch(api_client, conversation, {"assignee": _ref(dana), "expectedAssignee": None})
    assert taken.status_code == 200
    late = _patch(api_client, conversation, {"assignee": _ref(fox), "expectedAssignee": None})
    assert late.status_code == 409
    assert late.json()["code"] == "assignee_changed"
    assert late.json()["assignee"] == {"type": "user", "id": dana.public_id, "name": "Dana Scully"}
    assert _fresh(conversation).assignee_member == dana


def test_another_organizations_thread_cannot_be_changed(api_client, other_inbox, inbox):
    theirs = MessageFactory(inbox=other_inbox, thread=ThreadFactory(inbox=other_inbox)).thread
    response = api_client.patch(
        f"/v1/inboxes/{inbox.public_id}/threads/{theirs.public_id}",
        {"status": "closed"},
        format="json",
    )
    assert response.status_code == 404 and response.json()["code"] == "thread_not_found"
    for tail in ("/notes", "/activity"):
        assert (
            api_client.get(
                f"/v1/inboxes/{inbox.public_id}/threads/{theirs.public_id}{tail}"
            ).status_code
            == 404
        )
    assert _fresh(theirs).status == "open"


# --- bulk -------------------------------------------------------------------------------------


def test_bulk_changes_every_thread_and_answers_them_in_order(api_client, inbox, dana):
    threads = [MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox)).thread for _ in "abc"]
    ids = [thread.public_id for thread in reversed(threads)]
    response = api_client.post(
        "/v1/threads/bulk",
        {"threadIds": ids, "status": "closed", "assignee": _ref(dana)},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert [row["id"] for row in response.json()] == ids
    assert all(len(row["messages"]) == 1 for row in response.json())
    assert {t.status for t in Thread.objects.filter(pk__in=[t.pk for t in threads])} == {"closed"}


def test_bulk_mixing_another_organizations_id_changes_nothing(
    api_client, inbox, other_inbox, events
):
    mine = MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox)).thread
    theirs = MessageFactory(inbox=other_inbox, thread=ThreadFactory(inbox=other_inbox)).thread
    response = api_client.post(
        "/v1/threads/bulk",
        {"threadIds": [mine.public_id, theirs.public_id], "status": "closed"},
        format="json",
    )
    assert response.status_code == 404
    assert response.json()["code"] == "thread_not_found"
    assert response.json()["threadIds"] == [theirs.public_id]
    assert _fresh(mine).status == "open" and _fresh(theirs).status == "open"
    assert events("thread.updated") == []


@pytest.mark.parametrize(
    "body",
    [
        {"threadIds": []},
        {"threadIds": "thread_x"},
        {"threadIds": [f"thread_{n}" for n in range(201)]},
        {"status": "closed"},
    ],
)
def test_bulk_bad_input_is_a_400_naming_thread_ids(api_client, body):
    response = api_client.post("/v1/threads/bulk", body, format="json")
    assert response.status_code == 400 and "threadIds" in response.json()["fields"]


def test_a_limited_key_bulk_changes_only_its_inboxes(org, inbox):
    besides = InboxFactory(organization=org)
    mine = MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox)).thread
    other = MessageFactory(inbox=besides, thread=ThreadFactory(inbox=besides)).thread
    client = _client(create_api_key(org, name="n", inbox_ids=[inbox.public_id]).secret)
    response = client.post(
        "/v1/threads/bulk",
        {"threadIds": [mine.public_id, other.public_id], "status": "closed"},
        format="json",
    )
    assert response.status_code == 404 and response.json()["threadIds"] == [other.public_id]
    assert _fresh(mine).status == "open"
    ok = client.post(
        "/v1/threads/bulk", {"threadIds": [mine.public_id], "status": "closed"}, format="json"
    )
    assert ok.status_code == 200 and _fresh(mine).status == "closed"


def test_a_limited_key_assigns_itself_and_finds_it_with_assignee_me(org, inbox):
    created = create_api_key(org, name="narrow", inbox_ids=[inbox.public_id])
    client = _client(created.secret)
    thread = MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox)).thread
    me = {"type": "api_key", "id": created.api_key.public_id}
    assert _patch(client, thread, {"assignee": me}).status_code == 200
    listed = client.get(f"/v1/inboxes/{inbox.public_id}/threads?assignee=me").json()
    assert [row["id"] for row in listed] == [thread.public_id]
    assert listed[0]["assignee"]["name"] == "narrow"


# --- notes, activity, members -----------------------------------------------------------------


def test_notes_are_written_and_listed_newest_first(api_client, conversation, events):
    first = api_client.post(_url(conversation, "/notes"), {"text": "one"}, format="json")
    assert first.status_code == 201, first.json()
    api_client.post(_url(conversation, "/notes"), {"text": "two"}, format="json")
    body = first.json()
    assert body["id"].startswith("note_") and body["threadId"] == conversation.public_id
    assert body["author"]["type"] == "api_key" and body["text"] == "one"
    listed = api_client.get(_url(conversation, "/notes")).json()
    assert [note["text"] for note in listed] == ["two", "one"]
    assert [payload["text"] for payload in events("note.created")] == ["one", "two"]
    page = api_client.get(_url(conversation, "/notes?limit=1"))
    assert len(page.json()) == 1 and "next" in page["Link"]


@pytest.mark.parametrize("text", ["", "   ", "x" * 10001])
def test_an_empty_or_too_long_note_is_a_400_naming_text(api_client, conversation, text):
    response = api_client.post(_url(conversation, "/notes"), {"text": text}, format="json")
    assert response.status_code == 400 and list(response.json()["fields"]) == ["text"]
    assert not Note.objects.exists()


def test_a_note_without_text_is_a_400(api_client, conversation):
    response = api_client.post(_url(conversation, "/notes"), {}, format="json")
    assert response.status_code == 400 and "text" in response.json()["fields"]


def test_the_activity_route_is_the_timeline_oldest_first(api_client, conversation, dana):
    api_client.patch(_url(conversation), {"assignee": _ref(dana)}, format="json")
    api_client.post(_url(conversation, "/notes"), {"text": "looking"}, format="json")
    api_client.patch(_url(conversation), {"status": "closed"}, format="json")
    timeline = api_client.get(_url(conversation, "/activity")).json()
    assert [entry["type"] for entry in timeline] == [
        "message",
        "message",
        "assignment",
        "note",
        "status",
    ]
    assert all(entry["actor"]["type"] == "api_key" for entry in timeline[2:])


def test_members_lists_the_organizations_people_only(api_client, dana, fox, outsider):
    response = api_client.get("/v1/members")
    assert response.status_code == 200
    rows = response.json()
    assert {row["id"] for row in rows} == {dana.public_id, fox.public_id}
    dana_row = next(row for row in rows if row["id"] == dana.public_id)
    assert dana_row == {
        "id": dana.public_id,
        "_id": dana.public_id,
        "email": dana.user.email,
        "name": "Dana Scully",
        "role": "owner",
        "createdAt": dana_row["createdAt"],
    }


def test_a_limited_key_sees_the_members(org, inbox, dana):
    client = _client(create_api_key(org, name="n", inbox_ids=[inbox.public_id]).secret)
    assert [row["id"] for row in client.get("/v1/members").json()] == [dana.public_id]


def test_customers_can_subscribe_to_thread_and_note_events(api_client, settings):
    settings.SENDOOK_WEBHOOK_ALLOW_PRIVATE = True
    response = api_client.post(
        "/v1/webhooks",
        {"url": "http://127.0.0.1/hook", "events": ["thread.updated", "note.created"]},
        format="json",
    )
    assert response.status_code == 201, response.json()


# --- collision safety through the API --------------------------------------------------------


def _reply_url(message, action="reply"):
    return f"/v1/inboxes/{message.inbox.public_id}/messages/{message.public_id}/{action}"


def test_a_reply_with_a_stale_expectation_is_a_409_with_the_new_ids(api_client, conversation):
    seen = conversation.messages.order_by("id").last()
    newer = MessageFactory(inbox=conversation.inbox, thread=conversation, text="third")
    before = Message.objects.count()
    for action, body in (
        ("reply", {"text": "ok"}),
        ("reply-all", {"text": "ok"}),
        ("forward", {"to": ["x@example.org"]}),
    ):
        response = api_client.post(
            _reply_url(seen, action),
            {**body, "expectedLastMessageId": seen.public_id},
            format="json",
        )
        assert response.status_code == 409, (action, response.json())
        assert response.json()["code"] == "thread_changed"
        assert response.json()["newMessageIds"] == [newer.public_id]
    assert Message.objects.count() == before


@pytest.mark.parametrize("header", ['"{id}"', "{id}", 'W/"{id}"', ' "{id}" '])
def test_if_match_is_read_quotes_optional_and_weak_tolerated(api_client, conversation, header):
    seen = conversation.messages.order_by("id").last()
    stale = conversation.messages.order_by("id").first()
    ok = api_client.post(
        _reply_url(seen),
        {"text": "ok"},
        format="json",
        HTTP_IF_MATCH=header.format(id=seen.public_id),
    )
    assert ok.status_code == 202, ok.json()
    crossed = api_client.post(
        _reply_url(seen),
        {"text": "again"},
        format="json",
        HTTP_IF_MATCH=header.format(id=stale.public_id),
    )
    assert crossed.status_code == 409 and crossed.json()["code"] == "thread_changed"


@pytest.mark.parametrize("header", ["garbage", '"msg_a", "msg_b"', '"thread_x"', '""'])
def test_a_garbage_if_match_is_a_400(api_client, conversation, header):
    seen = conversation.messages.order_by("id").last()
    response = api_client.post(
        _reply_url(seen), {"text": "ok"}, format="json", HTTP_IF_MATCH=header
    )
    assert response.status_code == 400 and list(response.json()["fields"]) == ["If-Match"]
    assert conversation.messages.count() == 2


def test_if_match_disagreeing_with_the_body_is_a_400(api_client, conversation):
    seen = conversation.messages.order_by("id").last()
    first = conversation.messages.order_by("id").first()
    response = api_client.post(
        _reply_url(seen),
        {"text": "ok", "expectedLastMessageId": first.public_id},
        format="json",
        HTTP_IF_MATCH=f'"{seen.public_id}"',
    )
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["expectedLastMessageId"]


def test_an_api_key_reply_on_a_thread_a_person_took_is_a_409(api_client, conversation, dana):
    triage.update_thread(conversation, actor=SYSTEM, assignee=dana)
    seen = conversation.messages.order_by("id").last()
    response = api_client.post(_reply_url(seen), {"text": "ok"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "thread_assigned"
    assert response.json()["assignee"]["id"] == dana.public_id
    assert conversation.messages.count() == 2


def test_an_idempotent_replay_answers_the_original_202_after_the_thread_moved_on(
    api_client, conversation
):
    seen = conversation.messages.order_by("id").last()
    body = {"text": "ok", "expectedLastMessageId": seen.public_id}
    first = api_client.post(_reply_url(seen), body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 202
    MessageFactory(inbox=conversation.inbox, thread=conversation, text="meanwhile")
    replay = api_client.post(_reply_url(seen), body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert replay.status_code == 202 and replay.json()["id"] == first.json()["id"]
    assert replay["Idempotent-Replayed"] == "true"
    fresh = api_client.post(_reply_url(seen), body, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert fresh.status_code == 409 and fresh.json()["code"] == "thread_changed"
    # Two received, the one accepted reply; the refused one stored nothing.
    assert Message.objects.filter(thread=conversation).count() == 4
