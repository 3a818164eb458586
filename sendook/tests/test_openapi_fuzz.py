"""schemathesis against our own OpenAPI schema: no server errors, and every response matches
what the schema promises. Generated inputs are random, so this also fuzzes bad input."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from inboxes.tests.dns_server import loopback_dns
from inboxes.tests.factories import InboxFactory
from messages.services.send import NewAttachment, send_message

# The WSGI app as sendook/wsgi.py builds it, without its start-up refusal of the test key.
application = get_wsgi_application()
# Serving the schema touches no database, so it can be loaded at collection time.
# The event stream is served by the ASGI process; a WSGI worker answers it 503 by design (see
# sendook/events/tests for the stream itself).
schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", application).exclude(
    path="/v1/events/stream"
)


@pytest.fixture
def fuzz_settings(settings):
    # Domain verification must not wait on real DNS: answer from an empty loopback server.
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    # Like Django's test client: requests served in-process must not close the test's
    # database connection (it holds the test transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    with loopback_dns() as server:
        settings.SENDOOK_DNS_RESOLVER = server.address
        settings.SENDOOK_DNS_TIMEOUT = 0.5
        settings.SENDOOK_API_RATE_LIMIT = "100000/m"
        settings.SENDOOK_SEND_RATE_LIMIT = "100000/h"
        yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@hypothesis_settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_answers_within_its_schema(case, db, api_client, fuzz_settings):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_client.secret}"},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )


@pytest.fixture
def limited_key(org):
    """A key limited to one inbox, without the scopes to manage keys or domains."""
    from inboxes.services import create_api_key

    inbox = InboxFactory(organization=org)
    scopes = ["inboxes:read", "inboxes:write", "messages:read", "messages:send", "events:read"]
    return create_api_key(org, name="agent", scopes=scopes, inbox_ids=[inbox.public_id]).secret


@schema.parametrize()
@hypothesis_settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_answers_a_limited_key_within_its_schema(
    case, db, limited_key, fuzz_settings
):
    # Its 403s (missing scopes) and 404s (other inboxes) are documented errors, never a 500.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {limited_key}"},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )


@pytest.mark.parametrize("content_type", ["application/pdf", "text/plain", "image/png"])
def test_an_attachment_download_matches_the_schema_with_its_own_content_type(
    content_type, db, api_client, fuzz_settings
):
    # Found by reliability/api_fuzz.py: the bytes are served with the attachment's own type
    # (as the send tests require), which the schema documented as application/octet-stream.
    # Made with the service, not the test client: the client would reconnect the signals
    # fuzz_settings disconnected, and the in-process call below would close the test's connection.
    message = send_message(
        InboxFactory(organization=api_client.organization),
        to=["a@example.com"],
        subject="s",
        text="t",
        attachments=[NewAttachment(name="a.bin", content_type=content_type, content=b"hi")],
    )
    operation = schema["/v1/inboxes/{inbox_id}/messages/{id}/attachments/{attachment_id}"]["GET"]
    case = operation.Case(
        path_parameters={
            "inbox_id": message.inbox.public_id,
            "id": message.public_id,
            "attachment_id": message.attachments.get().public_id,
        }
    )
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {api_client.secret}"},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
    assert response.status_code == 200 and response.content == b"hi"
    assert response.headers["content-type"] == [content_type]
