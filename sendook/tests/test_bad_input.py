"""Impossible dates, and JSON nested past recursion on the SES webhook: each a 4xx naming the
problem. (Cursors and request bodies: sendook/tests/api/test_pagination.py, test_parsers.py.)"""

import pytest

from inboxes.tests.factories import InboxFactory
from messages.tests.factories import MessageFactory, ThreadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(org):
    inbox = InboxFactory(organization=org)
    for _ in range(3):
        MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox))
    return inbox


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
def test_json_nested_past_recursion_on_the_ses_webhook_is_a_400_json_error(client, body):
    response = client.post("/webhooks/ses", data=body, content_type="text/plain")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
