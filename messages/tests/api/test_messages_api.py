import base64

import pytest

from inboxes.tests.factories import InboxFactory
from messages.models import Message, Thread
from messages.tests.factories import MessageFactory, ThreadFactory

pytestmark = pytest.mark.django_db


def url(inbox, suffix=""):
    return f"/v1/inboxes/{inbox.public_id}/messages{suffix}"


def test_list_is_newest_first_with_bodies_and_paginated(inbox, api_client):
    first = MessageFactory(
        inbox=inbox, thread=ThreadFactory(inbox=inbox), subject="first", text="body one " * 50
    )
    second = MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox), subject="second")
    response = api_client.get(url(inbox))
    assert response.status_code == 200
    rows = response.json()
    assert [row["id"] for row in rows] == [second.public_id, first.public_id]
    # The seed reference: List Messages returns message objects, text and html included.
    assert rows[1]["text"] == "body one " * 50 and "html" in rows[1]
    assert rows[1]["preview"] == ("body one " * 50).strip()[:200]
    assert rows[1]["from"] == "customer@example.com" and rows[1]["fromName"] == "Carol Customer"

    page = api_client.get(url(inbox), {"limit": 1})
    assert [row["id"] for row in page.json()] == [second.public_id]
    next_url = page["Link"].split(";")[0].strip("<>")
    assert [row["id"] for row in api_client.get(next_url).json()] == [first.public_id]


def test_the_summary_view_lists_without_bodies(inbox, api_client):
    MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox), subject="first", text="body one")
    [row] = api_client.get(url(inbox), {"view": "summary"}).json()
    assert "text" not in row and "html" not in row and row["preview"] == "body one"
    refused = api_client.get(url(inbox), {"view": "everything"})
    assert refused.status_code == 400 and "view" in refused.json()["fields"]


def test_query_is_a_case_insensitive_substring_and_never_a_pattern(inbox, api_client):
    thread = ThreadFactory(inbox=inbox)
    by_subject = MessageFactory(inbox=inbox, thread=thread, subject="Invoice OVERDUE")
    by_text = MessageFactory(inbox=inbox, thread=thread, text="your invoice is overdue")
    by_from = MessageFactory(inbox=inbox, thread=thread, from_email="overdue-bot@example.com")
    by_cc = MessageFactory(inbox=inbox, thread=thread, cc=["Overdue Dept <dept@example.com>"])
    by_label = MessageFactory(inbox=inbox, thread=thread, labels=["overdue"])
    MessageFactory(inbox=inbox, thread=thread, subject="unrelated")
    ids = {row["id"] for row in api_client.get(url(inbox), {"query": "overDUE"}).json()}
    assert ids == {m.public_id for m in (by_subject, by_text, by_from, by_cc, by_label)}
    assert api_client.get(url(inbox), {"query": ".*"}).json() == []
    assert api_client.get(url(inbox), {"query": "%"}).json() == []


def test_label_and_date_filters(inbox, api_client):
    thread = ThreadFactory(inbox=inbox)
    both = MessageFactory(inbox=inbox, thread=thread, labels=["a", "b"])
    only_a = MessageFactory(inbox=inbox, thread=thread, labels=["a"])
    MessageFactory(inbox=inbox, thread=thread, labels=["ab"])
    Message.objects.filter(pk=only_a.pk).update(created_at="2020-01-01T00:00:00Z")
    ids = lambda **params: {row["id"] for row in api_client.get(url(inbox), params).json()}  # noqa: E731
    assert ids(labels="a,b") == {both.public_id}
    assert ids(labels="a") == {both.public_id, only_a.public_id}
    assert {r["id"] for r in api_client.get(url(inbox) + "?labels=a&labels=b").json()} == {
        both.public_id
    }
    assert ids(labels="a", before="2021-01-01") == {only_a.public_id}
    assert ids(labels="a", after="2021-01-01T00:00:00Z") == {both.public_id}


@pytest.mark.parametrize("field", ["before", "after"])
def test_a_malformed_date_is_a_400_naming_the_field(inbox, api_client, field):
    response = api_client.get(url(inbox), {field: "yesterday"})
    assert response.status_code == 400 and field in response.json()["fields"]
    response = api_client.get(url(inbox), {field: "2026-13-45"})
    assert response.status_code == 400 and field in response.json()["fields"]


def test_get_a_message_with_attachment_content_and_labels_patch(inbox, send, api_client):
    content = base64.b64encode(b"hello").decode()
    created = send(
        url(inbox, "/send"),
        {
            "to": ["a@example.com"],
            "subject": "s",
            "text": "t",
            "labels": ["x"],
            "attachments": [{"content": content, "name": "h.txt"}],
        },
    ).json()
    detail = api_client.get(url(inbox, f"/{created['id']}")).json()
    assert detail["text"] == "t" and detail["attachments"][0]["content"] == content
    assert detail["status"] == "sent" and detail["externalMessageId"].startswith("sandbox-")

    patched = api_client.patch(
        url(inbox, f"/{created['id']}"),
        {"addLabels": ["y", "x"], "removeLabels": ["x"]},
        format="json",
    )
    assert patched.status_code == 200 and patched.json()["labels"] == ["y"]
    thread = api_client.get(f"/v1/inboxes/{inbox.public_id}/threads/{created['threadId']}").json()
    assert thread["labels"] == ["y"]
    bad = api_client.patch(url(inbox, f"/{created['id']}"), {"addLabels": "y"}, format="json")
    assert bad.status_code == 400 and "addLabels" in bad.json()["fields"]


def test_another_organizations_or_inboxes_message_is_404_everywhere(
    inbox, org, other_inbox, api_client, send
):
    theirs = MessageFactory(inbox=other_inbox, thread=ThreadFactory(inbox=other_inbox))
    sibling = InboxFactory(organization=org, email="sibling@sendook.localhost")
    mine_elsewhere = MessageFactory(inbox=sibling, thread=ThreadFactory(inbox=sibling))
    for message in (theirs, mine_elsewhere):
        base = url(inbox, f"/{message.public_id}")
        for response in (
            api_client.get(base),
            api_client.get(base + "/raw"),
            api_client.patch(base, {"addLabels": ["x"]}, format="json"),
            send(base + "/reply", {"text": "hi"}),
            send(base + "/reply-all", {"text": "hi"}),
            send(base + "/forward", {"to": ["x@example.com"]}),
        ):
            assert response.status_code == 404, response.content
            assert response.json() == {
                "error": "Message not found",
                "message": "Message not found",
                "code": "message_not_found",
            }
    assert api_client.get(url(other_inbox)).json()["code"] == "inbox_not_found"
    assert Message.objects.filter(direction="outbound").count() == 0
    assert (
        api_client.get(url(inbox, f"/{mine_elsewhere.public_id}/attachments/att_x")).status_code
        == 404
    )


def test_reply_threads_addresses_the_sender_and_adds_re_once(inbox, send, sandbox, api_client):
    parent = MessageFactory(
        inbox=inbox,
        thread=ThreadFactory(inbox=inbox, subject="Re: Question"),
        subject="Re: Question",
        references=["<root@example.com>"],
        message_id="<q2@example.com>",
    )
    response = send(
        url(inbox, f"/{parent.public_id}/reply"), {"text": "Answer", "html": "<p>Answer</p>"}
    )
    assert response.status_code == 202, response.json()
    reply = response.json()
    assert reply["subject"] == "Re: Question" and reply["threadId"] == parent.thread.public_id
    assert reply["to"] == ["Carol Customer <customer@example.com>"]
    assert reply["inReplyTo"] == "<q2@example.com>"
    assert reply["references"] == ["<root@example.com>", "<q2@example.com>"]
    [(mime, _, _)] = sandbox()
    assert mime["In-Reply-To"] == "<q2@example.com>"
    assert mime["References"] == "<root@example.com> <q2@example.com>"
    assert mime["Subject"] == "Re: Question"

    second = send(url(inbox, f"/{reply['id']}/reply"), {"text": "follow-up"}).json()
    assert second["subject"] == "Re: Question" and second["to"] == reply["to"]
    assert second["references"] == ["<root@example.com>", "<q2@example.com>", reply["messageId"]]

    thread = api_client.get(
        f"/v1/inboxes/{inbox.public_id}/threads/{parent.thread.public_id}"
    ).json()
    assert thread["messageCount"] == 3
    assert [m["id"] for m in thread["messages"]] == [parent.public_id, reply["id"], second["id"]]
    assert thread["messages"][1]["text"] == "Answer"
    assert set(thread["participants"]) >= {"customer@example.com", inbox.email}


def test_a_reply_to_a_still_queued_message_threads_on_its_message_id(
    inbox, api_client, django_capture_on_commit_callbacks
):
    first = api_client.post(
        url(inbox, "/send"), {"to": ["a@example.com"], "subject": "Hi", "text": "t"}, format="json"
    ).json()
    assert Message.objects.get(public_id=first["id"]).status == "queued"  # on_commit never ran
    reply = api_client.post(
        url(inbox, f"/{first['id']}/reply"), {"text": "again"}, format="json"
    ).json()
    assert reply["inReplyTo"] == first["messageId"] and reply["to"] == ["a@example.com"]


def test_reply_all_keeps_everyone_but_this_inbox(inbox, send):
    parent = MessageFactory(
        inbox=inbox,
        thread=ThreadFactory(inbox=inbox),
        from_email="boss@example.com",
        from_name="",
        to=[inbox.email, "peer@example.com"],
        cc=["Support <SUPPORT@sendook.localhost>", "cc@example.com"],
    )
    reply = send(
        url(inbox, f"/{parent.public_id}/reply-all"), {"text": "ok", "cc": ["extra@example.com"]}
    ).json()
    assert reply["to"] == ["boss@example.com", "peer@example.com"]
    assert reply["cc"] == ["cc@example.com", "extra@example.com"]


def test_forward_carries_the_original_and_its_attachments(inbox, send, sandbox):
    content = base64.b64encode(b"original bytes").decode()
    original = send(
        url(inbox, "/send"),
        {
            "to": ["a@example.com"],
            "subject": "Fwd: Report",
            "text": "the report",
            "attachments": [{"content": content, "name": "r.bin"}],
        },
    ).json()
    forwarded = send(
        url(inbox, f"/{original['id']}/forward"), {"to": ["boss@example.com"], "text": "FYI"}
    )
    assert forwarded.status_code == 202, forwarded.json()
    body = forwarded.json()
    assert body["subject"] == "Fwd: Report" and body["to"] == ["boss@example.com"]
    assert [a["name"] for a in body["attachments"]] == ["r.bin"]
    mime = sandbox()[1][0]
    text = mime.get_body(("plain",)).get_content()
    assert text.startswith("FYI") and "Forwarded message" in text and "the report" in text
    assert [p.get_content() for p in mime.iter_attachments()] == [b"original bytes"]
    bad = send(url(inbox, f"/{original['id']}/forward"), {"to": ["nope"]})
    assert bad.status_code == 400 and "to.0" in bad.json()["fields"]


def test_reply_bad_input_names_the_field(inbox, send):
    parent = MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox))
    response = send(url(inbox, f"/{parent.public_id}/reply"), {"text": "", "html": ""})
    assert response.status_code == 400 and "text" in response.json()["fields"]
    response = send(
        url(inbox, f"/{parent.public_id}/reply"), {"text": "x", "cc": ["a@b.com\nBcc: c@d.com"]}
    )
    assert response.status_code == 400 and "cc.0" in response.json()["fields"]
    assert Message.objects.count() == 1


def test_threads_list_by_last_activity_with_summary_fields(inbox, api_client, send):
    old = send(
        url(inbox, "/send"), {"to": ["a@example.com"], "subject": "Old", "text": "old"}
    ).json()
    send(url(inbox, "/send"), {"to": ["b@example.com"], "subject": "New", "text": "new"})
    send(url(inbox, f"/{old['id']}/reply"), {"text": "bump"})
    rows = api_client.get(f"/v1/inboxes/{inbox.public_id}/threads").json()
    assert [row["subject"] for row in rows] == ["Old", "New"]
    assert rows[0]["messageCount"] == 2 and rows[0]["preview"] == "bump"
    assert rows[0]["messages"][0] == old["id"] and rows[0]["lastMessageAt"].endswith("Z")
    page = api_client.get(f"/v1/inboxes/{inbox.public_id}/threads", {"limit": 1})
    assert page.json()[0]["subject"] == "Old"
    nxt = api_client.get(page["Link"].split(";")[0].strip("<>")).json()
    assert [row["subject"] for row in nxt] == ["New"]


def test_another_organizations_thread_is_404(inbox, other_inbox, api_client):
    theirs = ThreadFactory(inbox=other_inbox)
    response = api_client.get(f"/v1/inboxes/{inbox.public_id}/threads/{theirs.public_id}")
    assert response.status_code == 404 and response.json()["code"] == "thread_not_found"
    assert api_client.get(f"/v1/inboxes/{other_inbox.public_id}/threads").status_code == 404
    assert Thread.objects.count() == 1


def test_the_hand_written_message_shape_matches_the_declared_schema_fields(inbox, send):
    from messages.api.serializers import (
        MessageDetailSerializer,
        MessageListItemSerializer,
        MessageSerializer,
    )

    body = send(
        url(inbox, "/send"),
        {
            "to": ["a@example.com"],
            "subject": "s",
            "text": "t",
            "replyTo": ["r@example.com"],
            "attachments": [{"content": "aGk="}],
        },
    ).json()
    message = Message.objects.get(public_id=body["id"])
    message.extracted_text, message.in_reply_to, message.status_reason = "x", "<p@x>", "why"
    for serializer_class in (MessageSerializer, MessageDetailSerializer, MessageListItemSerializer):
        serializer = serializer_class(message)
        declared = set(serializer.fields)
        rendered = set(serializer.data)
        assert rendered <= declared, (serializer_class, rendered - declared)
        # Only optional fields that are unset here may be missing (a sent message has no
        # `authentication` or `trust`: that is what was checked about a received one).
        assert declared - rendered <= {"toInboxId", "authentication", "trust"}, (
            serializer_class,
            declared - rendered,
        )


def test_a_list_item_shows_the_same_message_as_its_single_message_get(inbox, org, api_client):
    # The list reads rows rather than models; both must render the one message shape.
    from messages.tests.mail_factories import AttachmentFactory
    from messages.tests.mail_factories import MessageFactory as RelatedMessageFactory

    other = InboxFactory(organization=org)
    message = RelatedMessageFactory(
        thread=ThreadFactory(inbox=inbox),
        from_inbox=inbox,
        to_inbox=other,
        from_name="Ann",
        reply_to=["r@example.com"],
        cc=["c@example.com"],
        labels=["vip"],
        in_reply_to="<p@example.com>",
        status_reason="why",
        html="<p>Hello</p>",
    )
    AttachmentFactory(message=message, content_id="logo")
    listed = api_client.get(url(inbox, "?limit=1")).json()[0]
    single = api_client.get(url(inbox, f"/{message.public_id}")).json()

    for attachment in single["attachments"]:
        attachment.pop("content")
    assert listed.pop("preview") == "Hello"
    assert listed == single
    assert listed["fromInboxId"] == inbox.public_id and listed["toInboxId"] == other.public_id
    assert listed["attachments"][0]["contentId"] == "logo"
