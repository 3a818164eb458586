import json

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from rest_framework.test import APIClient

from inboxes.models import Membership, Organization

pytestmark = pytest.mark.django_db


def test_createorg_json_prints_an_organization_and_a_working_key(capsys):
    call_command(
        "createorg",
        "Initech",
        "--email",
        "Boss@Initech.test",
        "--password",
        "s3cret-pass",
        "--json",
    )
    result = json.loads(capsys.readouterr().out)
    organization = Organization.objects.get(public_id=result["organizationId"])
    assert organization.name == "Initech"
    assert result["email"] == "boss@initech.test"
    membership = Membership.objects.get(organization=organization)
    assert membership.role == "owner"
    assert authenticate(username="boss@initech.test", password="s3cret-pass") == membership.user

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {result['apiKey']}")
    assert client.get("/v1/inboxes").status_code == 200


def test_createorg_without_email_creates_no_login(capsys):
    call_command("createorg", "Headless", "--json")
    result = json.loads(capsys.readouterr().out)
    assert "email" not in result
    assert not Membership.objects.filter(organization__public_id=result["organizationId"]).exists()
