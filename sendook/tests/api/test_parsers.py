"""Request bodies are JSON objects within the size limit, parsed strictly."""

import pytest

from inboxes.models import Inbox
from inboxes.tests.factories import InboxFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(org):
    return InboxFactory(organization=org)


def test_malformed_json_is_a_400(api_client):
    response = api_client.post("/v1/inboxes", '{"name": "x",', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"
    for body in ("NaN", '{"name": Infinity}', b"\xff\xfe{}"):
        assert (
            api_client.post("/v1/inboxes", body, content_type="application/json").status_code == 400
        )


def test_a_non_json_content_type_is_a_415(api_client):
    response = api_client.post(
        "/v1/inboxes", "name=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_an_oversized_body_is_a_413_and_stores_nothing(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = api_client.post("/v1/inboxes", {"name": "x" * 5000}, format="json")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert Inbox.objects.count() == 0


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
