import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inboxes.exceptions import LoginExists
from inboxes.services import create_organization


class Command(BaseCommand):
    help = "Create an organization (with an owner login if --email is given) and an API key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--email", help="staff login (owner of the organization)")
        parser.add_argument("--password", help="password for the staff login")
        parser.add_argument(
            "--reset-password",
            action="store_true",
            help="when --email is an existing login, change its password to --password",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            organization, created, user = create_organization(
                options["name"],
                owner_email=options["email"],
                owner_password=options["password"],
                reset_password=options["reset_password"],
            )
        except LoginExists as exc:
            raise CommandError(
                f"{exc.message}; nothing was created and its password is unchanged. Pass "
                "--reset-password to change it, or leave out --password to make that login "
                "the owner as it is."
            ) from None
        result = {"organizationId": organization.public_id, "apiKey": created.secret}
        if user is not None:
            result["email"] = user.email
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(f"Organization {organization.name}: {organization.public_id}")
        if user is not None:
            self.stdout.write(f"Staff login: {user.email}")
        self.stdout.write(f"API key (shown once): {created.secret}")
