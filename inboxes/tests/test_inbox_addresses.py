"""Who may hold which address: canonical forms, reserved names, addresses of deleted inboxes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inboxes.models import ReleasedAddress
from inboxes.tests.factories import InboxFactory

pytestmark = pytest.mark.django_db


def create(client, email):
    return client.post("/v1/inboxes", {"email": email}, format="json")


@pytest.mark.parametrize(
    "spelling",
    ['"desk"@{d}', '"de\\sk"@{d}', "de\\sk@{d}", '"desk "@{d}', "(x)desk@{d}", "desk(x)@{d}"],
)
def test_a_quoted_or_escaped_spelling_of_another_organizations_address_is_refused(
    api_client, other_org, settings, spelling
):
    domain = settings.SENDOOK_DEFAULT_DOMAIN
    InboxFactory(organization=other_org, email=f"desk@{domain}")
    response = create(api_client, spelling.format(d=domain))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error" and "email" in body["fields"]


@pytest.mark.parametrize("local", [".desk", "desk.", "de..sk", "dé sk", "désk"])
def test_odd_local_parts_are_refused_with_the_field_named(api_client, settings, local):
    response = create(api_client, f"{local}@{settings.SENDOOK_DEFAULT_DOMAIN}")
    assert response.status_code == 400 and "email" in response.json()["fields"]


def test_the_stored_address_is_the_canonical_one_and_the_mail_leaves_from_it(api_client, settings):
    body = create(api_client, f"  Desk.Team@{settings.SENDOOK_DEFAULT_DOMAIN.upper()}. ").json()
    assert body["email"] == f"desk.team@{settings.SENDOOK_DEFAULT_DOMAIN}"


@pytest.mark.parametrize(
    "local",
    [
        "postmaster",
        "abuse",
        "admin",
        "webmaster",
        "hostmaster",
        "security",
        "noreply",
        "mailer-daemon",
        "Administrator",
    ],
)
def test_reserved_names_on_the_shared_domain_are_refused(api_client, settings, local):
    response = create(api_client, f"{local}@{settings.SENDOOK_DEFAULT_DOMAIN}")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "inbox_address_reserved"
    assert "reserved" in body["fields"]["email"][0]


def test_the_reserved_list_is_configurable(api_client, settings):
    settings.SENDOOK_RESERVED_LOCAL_PARTS = ["ops"]
    domain = settings.SENDOOK_DEFAULT_DOMAIN
    assert create(api_client, f"ops@{domain}").status_code == 422
    assert create(api_client, f"postmaster@{domain}").status_code == 201


def test_a_deleted_address_is_kept_from_other_organizations_during_quarantine(
    api_client, other_api_client, settings
):
    address = f"desk@{settings.SENDOOK_DEFAULT_DOMAIN}"
    inbox = create(api_client, address).json()
    assert api_client.delete(f"/v1/inboxes/{inbox['id']}").status_code == 200

    taken = create(other_api_client, address)
    assert taken.status_code == 409 and taken.json()["code"] == "inbox_exists"
    # Its owner may take it back at once.
    assert create(api_client, address).status_code == 201


def test_after_the_quarantine_the_address_is_free_again(api_client, other_api_client, settings):
    address = f"desk@{settings.SENDOOK_DEFAULT_DOMAIN}"
    inbox = create(api_client, address).json()
    api_client.delete(f"/v1/inboxes/{inbox['id']}")
    ReleasedAddress.objects.update(
        released_at=timezone.now()
        - timedelta(days=settings.SENDOOK_ADDRESS_QUARANTINE_DAYS, seconds=1)
    )
    assert create(other_api_client, address).status_code == 201
