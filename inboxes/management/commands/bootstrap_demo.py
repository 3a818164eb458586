"""Used by `make run`: create a demo organization once and print its credentials every time.

The API key is stored only as a hash, so the secret is kept in var/demo.json (a local file,
never committed) to be printed again on later runs.
"""

import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from inboxes.models import Organization
from inboxes.services import create_inbox, create_organization


class Command(BaseCommand):
    help = "Create the demo organization, staff login, API key and inbox (once) and print them."

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(settings.VAR_DIR) / "demo.json"
        demo = json.loads(path.read_text()) if path.exists() else None
        if (
            demo is None
            or not Organization.objects.filter(public_id=demo["organizationId"]).exists()
        ):
            password = secrets.token_urlsafe(12)
            organization, created, user = create_organization(
                "Demo", owner_email="demo@example.com", owner_password=password
            )
            # The demo login doubles as the operator: it may use the Django admin too.
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
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
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Sendook demo organization",
                    f"  staff login   http://127.0.0.1:8000/admin/  {demo['email']} / {demo['password']}",
                    f"  API key       {demo['apiKey']}",
                    f"  inbox         {demo['inbox']}",
                    "  try           curl -H 'Authorization: Bearer "
                    + demo["apiKey"]
                    + "' http://127.0.0.1:8000/v1/inboxes",
                    "",
                ]
            )
        )
