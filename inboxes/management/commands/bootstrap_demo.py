"""Used by `make run`: create a demo organization once and print its credentials every time.

The API key is stored only as a hash, so the secret is kept in var/demo.json (a local file,
never committed) to be printed again on later runs.

`--superuser` (which `make run` passes) also makes the demo login a superuser of the whole
installation, so it can use the Django admin; that happens only on the embedded defaults
(DEBUG on, SQLite), never against a real database, and the output says so.
"""

import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from inboxes.models import Organization
from inboxes.services import create_inbox, create_organization


class Command(BaseCommand):
    help = "Create the demo organization, staff login, API key and inbox (once) and print them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--superuser",
            action="store_true",
            help="make the demo login a superuser of this installation (embedded defaults only)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(settings.VAR_DIR) / "demo.json"
        demo = json.loads(path.read_text()) if path.exists() else None
        if (
            demo is None
            or not Organization.objects.filter(public_id=demo["organizationId"]).exists()
        ):
            password = secrets.token_urlsafe(12)
            # demo.json is the only copy of the password: a demo login left from a lost file
            # gets a new one.
            organization, created, user = create_organization(
                "Demo", owner_email="demo@example.com", owner_password=password, reset_password=True
            )
            inbox = create_inbox(organization, name="Demo")
            demo = {
                "organizationId": organization.public_id,
                "email": "demo@example.com",
                "password": password,
                "apiKey": created.secret,
                "inbox": inbox.email,
            }
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(demo, indent=2))
            path.chmod(0o600)
        user = get_user_model().objects.filter(email__iexact=demo["email"]).first()
        if user is not None and options["superuser"] and not user.is_superuser:
            if embedded_defaults():
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
            else:
                self.stderr.write(
                    f"Not making {demo['email']} a superuser: only on the embedded defaults "
                    "(DEBUG=1 and SQLite), never with DATABASE_URL or DEBUG off."
                )
        if user is not None and user.is_superuser:
            login = "http://127.0.0.1:8000/  (and /admin/)"
            warning = [
                f"  NOTE          {demo['email']} is a SUPERUSER of this whole installation: "
                "the Django admin shows and changes every organization."
            ]
        else:
            login, warning = "http://127.0.0.1:8000/", []
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Sendook demo organization",
                    f"  staff login   {login}  {demo['email']} / {demo['password']}",
                    *warning,
                    f"  API key       {demo['apiKey']}",
                    f"  inbox         {demo['inbox']}",
                    "  try           curl -H 'Authorization: Bearer "
                    + demo["apiKey"]
                    + "' http://127.0.0.1:8000/v1/inboxes",
                    "",
                ]
            )
        )


def embedded_defaults() -> bool:
    """`make run` on one machine: DEBUG on and the SQLite database, no real services."""
    return settings.DEBUG and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
