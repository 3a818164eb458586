"""Lists are bare arrays paged by an opaque cursor; a forged or damaged cursor is a 400."""

import base64
import json
import re

import pytest

from inboxes.tests.factories import InboxFactory
from messages.tests.factories import MessageFactory, ThreadFactory

pytestmark = pytest.mark.django_db


def test_lists_are_bare_arrays_paginated_with_a_link_header(api_client, org):
    InboxFactory.create_batch(7, organization=org)
    seen = []
    url = "/v1/inboxes?limit=3"
    pages = 0
    while url:
        response = api_client.get(url)
        assert response.status_code == 200
        assert isinstance(response.json(), list)
        seen += [row["id"] for row in response.json()]
        pages += 1
        link = response.headers.get("Link")
        url = re.match(r'<http://testserver([^>]+)>; rel="next"', link).group(1) if link else None
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    # newest first, and ids sort by creation time
    assert seen == sorted(seen, reverse=True)


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=abc", "limit=-5", "cursor=%%%", "cursor=bm9wZQ"]
)
def test_bad_pagination_parameters_are_400s(api_client, query):
    response = api_client.get(f"/v1/inboxes?{query}")
    assert response.status_code == 400
    assert response.json()["code"] in ("validation_error", "invalid_cursor")


def test_a_limit_above_the_maximum_is_capped(api_client, org):
    InboxFactory.create_batch(3, organization=org)
    assert len(api_client.get("/v1/inboxes?limit=5000").json()) == 3


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
