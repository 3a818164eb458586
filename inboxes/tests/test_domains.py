from datetime import timedelta

import boto3
import pytest
from django.utils import timezone

from inboxes.models import Domain
from inboxes.tests.dns_server import loopback_dns

pytestmark = pytest.mark.django_db


@pytest.fixture
def dns_server(settings):
    with loopback_dns() as server:
        settings.SENDOOK_DNS_RESOLVER = server.address
        settings.SENDOOK_DNS_TIMEOUT = 2
        yield server


def publish(server, records):
    for record in records:
        value = record["value"]
        if record["type"] == "MX":
            value = f"{record['priority']} {value}."
        elif record["type"] == "TXT":
            value = f'"{value}"'
        elif record["type"] == "CNAME":
            value = f"{value}."
        server.add(record["name"], record["type"], value)


def test_a_new_domain_lists_the_dns_records_to_publish(api_client, settings):
    response = api_client.post("/v1/domains", {"name": "Mail.Example.COM."}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "mail.example.com" and body["verified"] is False
    types = sorted((r["type"], r["name"]) for r in body["records"])
    assert ("MX", "mail.example.com") in types
    assert ("TXT", "_dmarc.mail.example.com") in types
    assert all(r["status"] == "pending" for r in body["records"])
    dns = api_client.get("/v1/domains/mail.example.com/dns").json()
    assert dns == body["records"]
    assert api_client.get(f"/v1/domains/{body['id']}").json()["name"] == "mail.example.com"


def test_verify_checks_real_dns_and_reports_each_record(api_client, dns_server):
    domain = api_client.post("/v1/domains", {"name": "acme.test"}, format="json").json()
    mx, spf, dmarc = domain["records"][:3]
    publish(dns_server, [mx, spf])

    partly = api_client.post("/v1/domains/acme.test/verify").json()
    statuses = {(r["type"], r["name"]): r["status"] for r in partly["records"]}
    assert statuses[("MX", "acme.test")] == "verified"
    assert statuses[("TXT", "acme.test")] == "verified"
    assert statuses[("TXT", "_dmarc.acme.test")] == "failed"
    assert partly["verified"] is False
    assert ("acme.test", "MX") in dns_server.queries

    publish(dns_server, [dmarc])
    # Everything but the organization's own challenge: not yet proof of control.
    assert api_client.post("/v1/domains/acme.test/verify").json()["verified"] is False
    [challenge] = [r for r in domain["records"] if r["name"] == "_sendook-challenge.acme.test"]
    publish(dns_server, [challenge])
    verified = api_client.post(f"/v1/domains/{domain['id']}/verify").json()
    assert verified["verified"] is True and "verifiedAt" in verified
    assert all(r["status"] == "verified" for r in verified["records"])


def test_ses_identity_provides_dkim_records_checked_in_dns(api_client, dns_server, aws, settings):
    settings.SENDOOK_SES_IDENTITIES = True
    domain = api_client.post("/v1/domains", {"name": "dkim.test"}, format="json").json()
    dkim = [r for r in domain["records"] if r["type"] == "CNAME"]
    assert len(dkim) == 3
    assert all(r["name"].endswith("._domainkey.dkim.test") for r in dkim)
    ses = boto3.client("ses", region_name="us-east-1", endpoint_url=aws)
    assert "dkim.test" in ses.list_identities()["Identities"]

    publish(dns_server, domain["records"])
    assert api_client.post("/v1/domains/dkim.test/verify").json()["verified"] is True

    assert api_client.delete("/v1/domains/dkim.test").status_code == 200
    assert "dkim.test" not in ses.list_identities()["Identities"]


def test_a_domain_verified_by_one_organization_cannot_be_claimed_by_another(
    api_client, other_api_client, dns_server
):
    mine = api_client.post("/v1/domains", {"name": "shared.test"}, format="json").json()
    # Another organization may add it while it is unverified (DNS decides who owns it) ...
    theirs = other_api_client.post("/v1/domains", {"name": "shared.test"}, format="json")
    assert theirs.status_code == 201
    publish(dns_server, mine["records"])
    assert api_client.post("/v1/domains/shared.test/verify").json()["verified"] is True
    # ... but its records prove only this organization's challenge: it cannot verify there.
    response = other_api_client.post("/v1/domains/shared.test/verify")
    assert response.status_code == 200 and response.json()["verified"] is False
    assert Domain.objects.filter(name="shared.test", verified=True).count() == 1
    other_api_client.delete("/v1/domains/shared.test")
    again = other_api_client.post("/v1/domains", {"name": "shared.test"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "domain_taken"


def test_adding_the_same_domain_twice_is_a_conflict(api_client):
    assert api_client.post("/v1/domains", {"name": "twice.test"}, format="json").status_code == 201
    response = api_client.post("/v1/domains", {"name": "TWICE.test"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "domain_exists"


def test_a_domain_with_inboxes_cannot_be_deleted(api_client, org):
    from inboxes.tests.factories import DomainFactory, InboxFactory

    domain = DomainFactory(organization=org, name="busy.test", verified=True)
    InboxFactory(organization=org, domain=domain, email="a@busy.test")
    response = api_client.delete("/v1/domains/busy.test")
    assert response.status_code == 409 and response.json()["code"] == "domain_in_use"
    assert Domain.objects.filter(pk=domain.pk).exists()


def test_another_organizations_domain_is_not_found(api_client, other_api_client):
    theirs = other_api_client.post("/v1/domains", {"name": "globex.test"}, format="json").json()
    for path in ("globex.test", theirs["id"]):
        assert api_client.get(f"/v1/domains/{path}").status_code == 404
        assert api_client.get(f"/v1/domains/{path}/dns").status_code == 404
        assert api_client.post(f"/v1/domains/{path}/verify").status_code == 404
        response = api_client.delete(f"/v1/domains/{path}")
        assert response.json() == {
            "error": "Domain not found",
            "message": "Domain not found",
            "code": "domain_not_found",
        }
    assert Domain.objects.filter(public_id=theirs["id"]).exists()


@pytest.mark.parametrize(
    "name",
    [
        "",
        "localhost",
        "-bad.example.com",
        "exa mple.com",
        "a..b.com",
        "x" * 64 + ".com",
        "1.2.3.4",
        7,
        None,
        "sendook.localhost",
    ],
)
def test_invalid_domain_names_are_rejected(api_client, name):
    response = api_client.post("/v1/domains", {"name": name}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["fields"]
    assert Domain.objects.count() == 0


def _challenge(domain):
    [record] = [r for r in domain["records"] if r["name"].startswith("_sendook-challenge.")]
    return record


def test_each_organization_gets_its_own_challenge_and_only_the_published_one_verifies(
    api_client, other_api_client, dns_server
):
    mine = api_client.post("/v1/domains", {"name": "race.test"}, format="json").json()
    theirs = other_api_client.post("/v1/domains", {"name": "race.test"}, format="json").json()
    assert _challenge(mine)["value"] != _challenge(theirs)["value"]
    assert api_client.get("/v1/domains/race.test/dns").json() == mine["records"]
    # The owner publishes everything of theirs; the other organization verifying first wins
    # nothing, however fast it is.
    publish(dns_server, theirs["records"])
    assert api_client.post("/v1/domains/race.test/verify").json()["verified"] is False
    assert other_api_client.post("/v1/domains/race.test/verify").json()["verified"] is True


def test_a_domain_already_publishing_ses_records_does_not_verify_without_the_challenge(
    api_client, dns_server
):
    domain = api_client.post("/v1/domains", {"name": "ses-ready.test"}, format="json").json()
    publish(dns_server, [r for r in domain["records"] if r is not _challenge(domain)])
    body = api_client.post("/v1/domains/ses-ready.test/verify").json()
    assert body["verified"] is False
    assert _challenge(body)["status"] == "failed"


def test_ownership_survives_a_dns_outage_and_lapses_after_the_grace_period(
    api_client, other_api_client, dns_server, settings
):
    from sendook.events.models import Event

    domain = api_client.post("/v1/domains", {"name": "owned.test"}, format="json").json()
    publish(dns_server, domain["records"])
    assert api_client.post("/v1/domains/owned.test/verify").json()["verified"] is True

    dns_server.records.clear()  # the zone is gone: answers are now definite misses
    settings.SENDOOK_DNS_RESOLVER = "127.0.0.1:9"  # and then nothing answers at all
    still = api_client.post("/v1/domains/owned.test/verify").json()
    assert still["verified"] is True
    assert {r["status"] for r in still["records"]} == {"temperror"}
    taken = other_api_client.post("/v1/domains", {"name": "owned.test"}, format="json")
    assert taken.status_code == 409 and taken.json()["code"] == "domain_taken"

    Domain.objects.filter(name="owned.test").update(
        last_verified_at=timezone.now() - timedelta(hours=settings.SENDOOK_DOMAIN_GRACE_HOURS + 1)
    )
    lapsed = api_client.post("/v1/domains/owned.test/verify").json()
    assert lapsed["verified"] is False
    assert (
        Event.objects.filter(type="domain.unverified", organization=api_client.organization).count()
        == 1
    )


def test_verify_with_an_unreachable_resolver_answers_within_the_deadline(api_client, settings):
    import socket
    import time

    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # takes queries, never answers
    silent.bind(("127.0.0.1", 0))
    try:
        settings.SENDOOK_DNS_RESOLVER = f"127.0.0.1:{silent.getsockname()[1]}"
        settings.SENDOOK_DNS_TIMEOUT = 3
        api_client.post("/v1/domains", {"name": "slow.test"}, format="json")
        started = time.monotonic()
        response = api_client.post("/v1/domains/slow.test/verify")
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert response.status_code == 200
    assert {r["status"] for r in response.json()["records"]} == {"temperror"}
    assert elapsed < settings.SENDOOK_DNS_VERIFY_TIMEOUT + 1.0, elapsed


def test_an_inbox_on_a_domain_that_lapsed_cannot_send(api_client, org):
    from inboxes.tests.factories import DomainFactory, InboxFactory

    domain = DomainFactory(organization=org, name="lapsed.test", verified=False)
    inbox = InboxFactory(organization=org, email="desk@lapsed.test", domain=domain)
    response = api_client.post(
        f"/v1/inboxes/{inbox.public_id}/messages/send",
        {"to": ["a@example.com"], "subject": "s", "text": "t"},
        format="json",
    )
    assert response.status_code == 422 and response.json()["code"] == "domain_not_verified"
