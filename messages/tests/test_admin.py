import pytest
from django.contrib.auth import get_user_model

from messages.models import Message, Suppression

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser(
        "root@example.com", "root@example.com", "pw-long-enough"
    )
    client.force_login(user)
    return client


def test_admin_shows_messages_with_their_raw_mime_escaped(admin_client, inbox, send):
    body = send(
        f"/v1/inboxes/{inbox.public_id}/messages/send",
        {"to": ["a@example.com"], "subject": "<script>x</script>", "text": "t"},
    ).json()
    message = Message.objects.get(public_id=body["id"])
    page = admin_client.get(f"/admin/mail/message/{message.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Message-ID: " + body["messageId"].replace("<", "&lt;").replace(">", "&gt;") in html
    assert "<script>x</script>" not in html
    listing = admin_client.get("/admin/mail/message/", {"q": body["id"], "status": "sent"})
    assert listing.status_code == 200 and body["id"] in listing.content.decode()


def test_admin_lists_threads_attachments_and_suppressions(admin_client, org, inbox, send):
    send(
        f"/v1/inboxes/{inbox.public_id}/messages/send",
        {
            "to": ["a@example.com"],
            "subject": "Quarterly",
            "text": "t",
            "attachments": [{"content": "aGk=", "name": "q.txt"}],
        },
    )
    Suppression.objects.create(organization=org, email="gone@example.com", reason="bounce")
    assert (
        "Quarterly" in admin_client.get("/admin/mail/thread/", {"q": "Quarterly"}).content.decode()
    )
    assert "q.txt" in admin_client.get("/admin/mail/attachment/").content.decode()
    assert (
        "gone@example.com"
        in admin_client.get("/admin/mail/suppression/", {"reason": "bounce"}).content.decode()
    )
