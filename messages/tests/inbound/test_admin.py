"""Staff find quarantined mail in the admin, download its raw bytes and reprocess it."""

import pytest
from django.contrib.auth import get_user_model

from messages.models import InboundEmail, Message
from messages.tests.inbound.mail import build_email

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(user)
    return client


def test_quarantined_mail_is_listed_downloadable_and_reprocessable(
    admin_client, inbox, receive, settings, django_capture_on_commit_callbacks
):
    settings.SENDOOK_INBOUND_MAX_PARTS = 1
    raw = build_email(subject="Stuck", html="<p>x</p>")
    record = receive(raw)
    assert record.status == "quarantined"

    listing = admin_client.get("/admin/mail/inboundemail/?status__exact=quarantined")
    assert listing.status_code == 200
    assert record.public_id in listing.content.decode()

    download = admin_client.get(f"/admin/mail/inboundemail/{record.pk}/raw/")
    assert download.status_code == 200
    assert download["Content-Type"] == "message/rfc822"
    assert b"".join(download.streaming_content) == raw

    detail = admin_client.get(f"/admin/mail/inboundemail/{record.pk}/change/")
    assert detail.status_code == 200

    settings.SENDOOK_INBOUND_MAX_PARTS = 500
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/mail/inboundemail/",
            {"action": "reprocess", "_selected_action": [record.pk]},
        )
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.status == InboundEmail.Status.PROCESSED
    assert Message.objects.get().subject == "Stuck"


def test_raw_download_needs_staff(client, inbox, receive):
    record = receive(build_email())

    response = client.get(f"/admin/mail/inboundemail/{record.pk}/raw/")

    assert response.status_code == 302  # to the admin login
    assert "/admin/login/" in response["Location"]
