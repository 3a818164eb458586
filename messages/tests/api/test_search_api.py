"""`GET /v1/inboxes/{id}/messages?query=` speaks the same search language as the staff UI."""

import pytest

from messages.tests.mail_factories import AttachmentFactory, MessageFactory

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()}


def url(inbox):
    return f"/v1/inboxes/{inbox.public_id}/messages"


def test_plain_words_keep_their_substring_meaning(api_client, inbox):
    hit = MessageFactory(
        inbox=inbox, thread__inbox=inbox, from_email="billing-bot@vendor.test", text="x"
    )
    MessageFactory(inbox=inbox, thread__inbox=inbox, text="nothing")

    assert ids(api_client.get(url(inbox), {"query": "BOT"})) == {hit.public_id}


def test_operators_work_through_the_api(api_client, inbox):
    sent = MessageFactory(
        inbox=inbox, thread__inbox=inbox, direction="outbound", status="sent", subject="Quote"
    )
    with_file = MessageFactory(inbox=inbox, thread__inbox=inbox, subject="Quote")
    AttachmentFactory(message=with_file)

    assert ids(api_client.get(url(inbox), {"query": "is:sent"})) == {sent.public_id}
    assert ids(api_client.get(url(inbox), {"query": "quote has:attachment"})) == {
        with_file.public_id
    }
    assert ids(api_client.get(url(inbox), {"query": 'subject:"quote" -has:attachment'})) == {
        sent.public_id
    }


def test_bad_query_is_a_400_naming_the_problem(api_client, inbox):
    response = api_client.get(url(inbox), {"query": "colour:red"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_query"
    assert "Unknown search operator 'colour:'" in body["error"]
    assert "query" in body["fields"]

    response = api_client.get(url(inbox), {"query": "after:2026-02-30"})
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.json()["error"]


def test_search_in_another_organizations_inbox_is_404(api_client, other_inbox):
    MessageFactory(inbox=other_inbox, thread__inbox=other_inbox, subject="secret")
    response = api_client.get(url(other_inbox), {"query": "secret"})
    assert response.status_code == 404


def test_search_results_paginate_with_the_usual_cursor(api_client, inbox):
    rows = [
        MessageFactory(inbox=inbox, thread__inbox=inbox, subject=f"report {n}") for n in range(3)
    ]
    first = api_client.get(url(inbox), {"query": "report", "limit": 2})
    assert [r["id"] for r in first.json()] == [rows[2].public_id, rows[1].public_id]
    next_url = first["Link"].split(";")[0].strip("<>")
    assert [r["id"] for r in api_client.get(next_url).json()] == [rows[0].public_id]


def test_or_between_operators_gives_alternatives_through_the_api(api_client, inbox):
    alice = MessageFactory(inbox=inbox, thread__inbox=inbox, from_email="alice@x.test")
    bob = MessageFactory(inbox=inbox, thread__inbox=inbox, from_email="bob@x.test")
    MessageFactory(inbox=inbox, thread__inbox=inbox, from_email="carol@x.test")

    response = api_client.get(url(inbox), {"query": "from:alice OR from:bob"})
    assert ids(response) == {alice.public_id, bob.public_id}
