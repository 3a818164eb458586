"""The message list costs a fixed number of SQL queries, whatever the page size (no N+1)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from inboxes.tests.factories import InboxFactory
from messages.models import Message
from messages.tests.mail_factories import AttachmentFactory, MessageFactory, ThreadFactory


def _queries(api_client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = api_client.get(path)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


def test_a_list_page_of_fifty_messages_costs_as_many_queries_as_a_page_of_five(org, api_client):
    inbox = InboxFactory(organization=org)
    other_inbox = InboxFactory(organization=org)
    for n in range(60):
        # Every relation the list renders: thread, from/to inbox, attachments.
        message = MessageFactory(
            thread=ThreadFactory(inbox=inbox),
            direction=Message.Direction.OUTBOUND if n % 2 else Message.Direction.INBOUND,
            from_inbox=inbox if n % 2 else None,
            to_inbox=other_inbox if n % 3 == 0 else None,
        )
        if n % 4 == 0:
            AttachmentFactory(message=message)
    path = f"/v1/inboxes/{inbox.public_id}/messages"
    _queries(api_client, f"{path}?limit=1")  # the first request may touch the key's last use

    small = _queries(api_client, f"{path}?limit=5")
    large = _queries(api_client, f"{path}?limit=50")

    assert large == small
    assert len(api_client.get(f"{path}?limit=50").json()) == 50
