import json

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
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


def test_createorg_refuses_to_reset_an_existing_logins_password(capsys):
    call_command("createorg", "First", "--email", "ada@example.test", "--password", "original-pw")
    with pytest.raises(CommandError, match=r"already exists.*--reset-password"):
        call_command(
            "createorg", "Second", "--email", "ADA@example.test", "--password", "attacker-pw"
        )
    assert authenticate(username="ada@example.test", password="original-pw") is not None
    assert authenticate(username="ada@example.test", password="attacker-pw") is None
    assert not Organization.objects.filter(name="Second").exists()


def test_createorg_exits_non_zero_with_the_reason_on_an_existing_login(capsys):
    call_command("createorg", "First", "--email", "ada@example.test", "--password", "original-pw")
    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(
            ["manage.py", "createorg", "Second", "--email", "ada@example.test", "--password", "x"]
        )
    assert exited.value.code == 1
    assert "ada@example.test already exists" in capsys.readouterr().err


def test_createorg_reset_password_changes_an_existing_logins_password(capsys):
    call_command("createorg", "First", "--email", "ada@example.test", "--password", "original-pw")
    call_command(
        "createorg",
        "Second",
        "--email",
        "ada@example.test",
        "--password",
        "new-password",
        "--reset-password",
    )
    assert authenticate(username="ada@example.test", password="new-password") is not None
    second = Organization.objects.get(name="Second")
    assert second.memberships.get().role == "owner"


def test_createorg_makes_an_existing_login_owner_without_touching_its_password(capsys):
    call_command("createorg", "First", "--email", "ada@example.test", "--password", "original-pw")
    call_command("createorg", "Second", "--email", "ada@example.test")
    assert authenticate(username="ada@example.test", password="original-pw") is not None
    assert Organization.objects.get(name="Second").memberships.get().role == "owner"
