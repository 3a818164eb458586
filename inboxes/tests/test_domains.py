import boto3
import pytest

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
    # ... but once it is verified here it cannot be verified or added there.
    response = other_api_client.post("/v1/domains/shared.test/verify")
    assert response.status_code == 409 and response.json()["code"] == "domain_taken"
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
        assert response.json() == {"error": "Domain not found", "code": "domain_not_found"}
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
