import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from webhooks.models import Webhook
from webhooks.services.delivery import posting
from webhooks.tests.conftest import create_webhook

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/hooks?x=1&y=%20z"


def test_creating_a_webhook_shows_its_secret_once_and_echoes_the_url_exactly(api_client, org):
    response = api_client.post(
        "/v1/webhooks", {"url": URL, "events": ["message.received", "inbox.created"]}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("wh_") and body["_id"] == body["id"]
    assert body["url"] == URL
    assert body["events"] == ["message.received", "inbox.created"]
    assert body["inboxIds"] == []
    assert body["enabled"] is True
    assert body["organizationId"] == org.public_id
    assert body["secret"].startswith("whsec_")
    StandardWebhook(body["secret"])  # the stock verifier accepts the secret's format
    assert "disabledReason" not in body

    again = api_client.get(f"/v1/webhooks/{body['id']}").json()
    assert "secret" not in again and again["url"] == URL
    [listed] = api_client.get("/v1/webhooks").json()
    assert listed["id"] == body["id"] and "secret" not in listed


def test_unknown_event_types_are_refused_naming_events(api_client):
    response = api_client.post(
        "/v1/webhooks", {"url": URL, "events": ["message.recieved"]}, format="json"
    )
    assert response.status_code == 400
    assert "message.recieved" in response.json()["fields"]["events"][0]
    for events in ([], "message.received", [5], ["webhook.test"]):
        response = api_client.post("/v1/webhooks", {"url": URL, "events": events}, format="json")
        assert response.status_code == 400, events
        assert any(key.split(".")[0] == "events" for key in response.json()["fields"]), events
    assert not Webhook.objects.exists()


def test_missing_or_malformed_input_is_a_400_naming_the_field(api_client):
    response = api_client.post("/v1/webhooks", {"events": ["inbox.created"]}, format="json")
    assert response.status_code == 400 and "url" in response.json()["fields"]
    response = api_client.post(
        "/v1/webhooks", {"url": 7, "events": ["inbox.created"]}, format="json"
    )
    assert response.status_code == 400 and "url" in response.json()["fields"]
    response = api_client.post("/v1/webhooks", ["not", "an", "object"], format="json")
    assert response.status_code == 400
    response = api_client.post(
        "/v1/webhooks",
        {"url": URL, "events": ["inbox.created"], "inboxIds": ["inbox_nope"]},
        format="json",
    )
    assert response.status_code == 400 and "inboxIds" in response.json()["fields"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data", "metadata_address"),
        ("ftp://example.com/hook", "bad_scheme"),
        ("http://[fe80::1]/hook", "link_local_address"),
        ("http://0.0.0.0:8000/", "unspecified_address"),
        ("http://user:pw@example.com/", "credentials_in_url"),
    ],
)
def test_unsafe_urls_are_refused_at_create_with_the_reason(api_client, url, reason):
    response = api_client.post(
        "/v1/webhooks", {"url": url, "events": ["inbox.created"]}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unsafe_url"
    assert reason in body["fields"]["url"][0]


def test_private_addresses_are_refused_unless_allowed(api_client, settings):
    settings.SENDOOK_WEBHOOK_ALLOW_PRIVATE = False
    for url in (
        "http://127.0.0.1:8080/",
        "http://10.1.2.3/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",
    ):
        response = api_client.post(
            "/v1/webhooks", {"url": url, "events": ["inbox.created"]}, format="json"
        )
        assert response.status_code == 400 and "url" in response.json()["fields"], url


def test_a_name_resolving_to_a_private_address_is_refused(api_client, settings, monkeypatch):
    settings.SENDOOK_WEBHOOK_ALLOW_PRIVATE = False
    monkeypatch.setattr(posting, "resolver", lambda host, port: ["192.168.1.20"])
    response = api_client.post(
        "/v1/webhooks",
        {"url": "https://hooks.example.com/in", "events": ["inbox.created"]},
        format="json",
    )
    assert response.status_code == 400
    assert "private_address" in response.json()["fields"]["url"][0]
    monkeypatch.setattr(posting, "resolver", lambda host, port: ["93.184.216.34"])
    response = api_client.post(
        "/v1/webhooks",
        {"url": "https://hooks.example.com/in", "events": ["inbox.created"]},
        format="json",
    )
    assert response.status_code == 201


def test_an_inbox_filter_must_name_the_organizations_own_inboxes(api_client, other_api_client):
    mine = api_client.post("/v1/inboxes", {"name": "Mine"}, format="json").json()
    theirs = other_api_client.post("/v1/inboxes", {"name": "Theirs"}, format="json").json()
    body = create_webhook(api_client, URL, inboxIds=[mine["id"]])
    assert body["inboxIds"] == [mine["id"]]
    response = api_client.post(
        "/v1/webhooks",
        {"url": URL, "events": ["inbox.created"], "inboxIds": [theirs["id"]]},
        format="json",
    )
    assert response.status_code == 400 and theirs["id"] in response.json()["fields"]["inboxIds"][0]


def test_patch_changes_url_events_filter_and_enabled(api_client):
    hook = create_webhook(api_client, URL)
    inbox = api_client.post("/v1/inboxes", {"name": "Bot"}, format="json").json()
    url = f"/v1/webhooks/{hook['id']}"
    response = api_client.patch(
        url,
        {"url": "http://127.0.0.1:10/new", "events": ["message.sent"], "inboxIds": [inbox["id"]]},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["url"] == "http://127.0.0.1:10/new"
    assert body["events"] == ["message.sent"] and body["inboxIds"] == [inbox["id"]]
    assert "secret" not in body

    disabled = api_client.patch(url, {"enabled": False}, format="json").json()
    assert disabled["enabled"] is False and disabled["disabledReason"]
    enabled = api_client.patch(url, {"enabled": True}, format="json").json()
    assert enabled["enabled"] is True and "disabledReason" not in enabled


def test_patch_refuses_bad_values_naming_the_field(api_client):
    hook = create_webhook(api_client, URL)
    url = f"/v1/webhooks/{hook['id']}"
    for body, field in [
        ({"url": "http://169.254.169.254/"}, "url"),
        ({"events": ["nope"]}, "events"),
        ({"enabled": "yes"}, "enabled"),
        ({"rotateSecret": 1}, "rotateSecret"),
        ({"inboxIds": ["inbox_nope"]}, "inboxIds"),
    ]:
        response = api_client.patch(url, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["fields"], body
    assert api_client.get(url).json()["url"] == URL


def test_rotating_the_secret_shows_the_new_one_once(api_client):
    hook = create_webhook(api_client, URL)
    url = f"/v1/webhooks/{hook['id']}"
    rotated = api_client.patch(url, {"rotateSecret": True}, format="json").json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != hook["secret"]
    assert Webhook.objects.get(public_id=hook["id"]).secret == rotated["secret"]
    assert "secret" not in api_client.get(url).json()


def test_delete_returns_the_webhook_and_removes_it(api_client):
    hook = create_webhook(api_client, URL)
    response = api_client.delete(f"/v1/webhooks/{hook['id']}")
    assert response.status_code == 200 and response.json()["id"] == hook["id"]
    assert "secret" not in response.json()
    assert api_client.get(f"/v1/webhooks/{hook['id']}").status_code == 404


def test_another_organizations_webhook_is_not_found_everywhere(api_client, other_api_client):
    theirs = create_webhook(other_api_client, URL)
    base = f"/v1/webhooks/{theirs['id']}"
    expected = {
        "error": "Webhook not found",
        "message": "Webhook not found",
        "code": "webhook_not_found",
    }
    assert api_client.get(base).json() == expected
    assert api_client.patch(base, {"enabled": False}, format="json").json() == expected
    assert api_client.delete(base).json() == expected
    assert api_client.post(f"{base}/test").json() == expected
    assert api_client.get(f"{base}/attempts").json() == expected
    assert api_client.post(f"{base}/deliveries/evt_x/retry").json() == expected
    assert api_client.get("/v1/webhooks").json() == []
    assert other_api_client.get(base).json()["enabled"] is True


def _resolver(host, port):
    answers = {"public.example.test": ["93.184.216.34"], "private.example.test": ["10.0.0.5"]}
    if host not in answers:
        raise OSError(f"[Errno -2] Name or service not known: {host}")
    return answers[host]


def test_a_host_that_does_not_resolve_yet_is_accepted_with_a_warning(
    api_client, settings, monkeypatch
):
    # The original's SDK and sendook-mcp create webhooks before the receiver's DNS is live.
    settings.SENDOOK_WEBHOOK_ALLOW_PRIVATE = False
    monkeypatch.setattr(posting, "resolver", _resolver)
    response = api_client.post(
        "/v1/webhooks",
        {"url": "https://later.example.test/hook", "events": ["inbox.created"]},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert "later.example.test" in body["warning"] and "resolves the host again" in body["warning"]
    assert body["secret"].startswith("whsec_")
    again = api_client.get(f"/v1/webhooks/{body['id']}").json()
    assert "warning" not in again

    moved = api_client.patch(
        f"/v1/webhooks/{body['id']}", {"url": "https://public.example.test/h"}, format="json"
    )
    assert moved.status_code == 200 and "warning" not in moved.json()
    back = api_client.patch(
        f"/v1/webhooks/{body['id']}", {"url": "https://later2.example.test/h"}, format="json"
    )
    assert back.status_code == 200 and "later2.example.test" in back.json()["warning"]
    assert Webhook.objects.get(public_id=body["id"]).url == "https://later2.example.test/h"


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/h",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/h",
        "http://localhost/h",
        "https://private.example.test/h",
    ],
)
def test_private_and_metadata_targets_are_still_refused(api_client, settings, monkeypatch, url):
    settings.SENDOOK_WEBHOOK_ALLOW_PRIVATE = False
    monkeypatch.setattr(posting, "resolver", _resolver)
    response = api_client.post(
        "/v1/webhooks", {"url": url, "events": ["inbox.created"]}, format="json"
    )
    assert response.status_code == 400 and "url" in response.json()["fields"]
    assert not Webhook.objects.exists()
