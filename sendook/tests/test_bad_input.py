"""Forged cursors, JSON nested past recursion, impossible dates: each a 4xx naming the problem."""

import base64
import json

import pytest

from inboxes.tests.factories import InboxFactory
from messages.tests.factories import MessageFactory, ThreadFactory

pytestmark = pytest.mark.django_db


def forged(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


CURSORS = [
    forged(["2026-01-01T00:00:00", 1]),  # naive
    forged(["2026-13-45T00:00:00+00:00", 1]),
    forged(["0001-01-01T00:00:00+14:00", 1]),  # leaves datetime's range in UTC
    forged([True, 1]),
    forged([{"a": 1}, 1]),
    forged([1, 10**30]),
    forged([1, -1]),
    forged([1, 1.5]),
    forged([1]),
    forged({"a": 1}),
    forged("x"),
    base64.urlsafe_b64encode(b"[" * 5000).decode(),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    "%%%",
    "",
]


@pytest.fixture
def inbox(org):
    inbox = InboxFactory(organization=org)
    for _ in range(3):
        MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox))
    return inbox


@pytest.mark.parametrize("cursor", CURSORS)
@pytest.mark.parametrize(
    "path",
    [
        "/v1/inboxes/{i}/threads",
        "/v1/events",
        "/v1/inboxes",
        "/v1/inboxes/{i}/messages",
        "/v1/webhooks",
        "/v1/api_keys",
    ],
)
def test_a_forged_cursor_is_a_400_naming_the_cursor(api_client, inbox, cursor, path):
    response = api_client.get(path.format(i=inbox.public_id), {"cursor": cursor, "limit": 1})
    if cursor == "":
        assert response.status_code == 200  # no cursor at all is the first page
        return
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_cursor" and "cursor" in body["fields"]


@pytest.mark.parametrize("path", ["/v1/inboxes/{i}/threads", "/v1/events"])
def test_a_cursor_without_the_ordering_value_is_refused_where_the_list_needs_one(
    api_client, inbox, path
):
    response = api_client.get(path.format(i=inbox.public_id), {"cursor": forged([None, 1])})
    assert response.status_code == 400 and response.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize("path", ["/v1/inboxes/{i}/threads", "/v1/events"])
def test_real_cursors_still_page_through_every_row(api_client, inbox, path):
    for n in range(3):  # three inbox.created events
        api_client.post("/v1/inboxes", {"name": f"n{n}"}, format="json")
    seen, url = [], path.format(i=inbox.public_id) + "?limit=1"
    while url:
        response = api_client.get(url)
        assert response.status_code == 200
        seen += [row["id"] for row in response.json()]
        link = response.headers.get("Link")
        url = link[1 : link.index(">")] if link else None
    assert len(seen) == len(set(seen)) >= 3


@pytest.mark.parametrize(
    "value",
    [
        "2024-13-45T10:00:00",
        "2024-02-30",
        "2024-02-30T10:00:00Z",
        "2024-01-01T25:00:00",
        "0001-01-01T00:00:00+23:00",
        "9999-12-31T23:59:59-23:00",
        "tomorrow",
        "2024-1-1x",
    ],
)
@pytest.mark.parametrize("name", ["before", "after"])
def test_an_impossible_date_is_a_400_naming_the_parameter(api_client, inbox, name, value):
    response = api_client.get(f"/v1/inboxes/{inbox.public_id}/messages", {name: value})
    assert response.status_code == 400, response.content
    assert name in response.json()["fields"]


def test_an_impossible_date_in_a_search_query_is_invalid_query(api_client, inbox):
    response = api_client.get(
        f"/v1/inboxes/{inbox.public_id}/messages", {"query": "before:2024-13-45"}
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_query"


DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
@pytest.mark.parametrize(
    "method,path",
    [
        ("post", "/v1/inboxes"),
        ("post", "/v1/inboxes/{i}/messages/send"),
        ("post", "/v1/webhooks"),
        ("post", "/v1/api_keys"),
        ("post", "/v1/domains"),
        ("patch", "/v1/inboxes/{i}"),
    ],
)
def test_json_nested_past_recursion_is_a_400_json_error(api_client, inbox, body, method, path):
    response = getattr(api_client, method)(
        path.format(i=inbox.public_id), data=body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "nested too deeply" in response.json()["error"]


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_json_nested_past_recursion_on_the_ses_webhook_is_a_400_json_error(client, body):
    response = client.post("/webhooks/ses", data=body, content_type="text/plain")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
