"""The staff UI's API keys page shows what each agent may do, and only the organization's keys."""

import pytest

from inboxes.services import create_api_key
from inboxes.tests.factories import InboxFactory

pytestmark = pytest.mark.django_db


def test_the_keys_page_shows_each_keys_scopes_inboxes_and_approval(org, staff_client):
    desk = InboxFactory(organization=org, name="Support desk")
    create_api_key(org, name="Full power")
    create_api_key(
        org,
        name="Support bot",
        scopes=["messages:send", "messages:read"],
        inbox_ids=[desk.public_id],
        require_approval=True,
    )
    page = staff_client.get("/keys")
    assert page.status_code == 200
    html = page.content.decode()
    bot = html[html.index("Support bot") :]
    bot = bot[: bot.index("</tr>")]
    # Scopes in their documented order, the inbox by name, approval on every send.
    assert "<code>messages:read</code> <code>messages:send</code>" in bot
    assert "Support desk" in bot and "each needs approval" in bot
    full = html[html.index("Full power") :]
    full = full[: full.index("</tr>")]
    assert "every scope" in full and "every inbox" in full and "per inbox policy" in full
    assert 'id="keys-link"' in html


def test_the_keys_page_lists_no_other_organizations_keys(org, other_org, staff_client):
    create_api_key(other_org, name="Their secret agent")
    html = staff_client.get("/keys").content.decode()
    assert "Their secret agent" not in html


def test_the_keys_page_needs_a_signed_in_member(client):
    response = client.get("/keys")
    assert response.status_code == 302 and "/login" in response["Location"]
