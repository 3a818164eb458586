import pytest

from sendook.events.services import record_event
from webhooks.models import Delivery, DeliveryAttempt, Webhook
from webhooks.tests.receivers import ok, receiver

pytestmark = pytest.mark.django_db

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def dead_delivery(org):
    Webhook.objects.create(
        organization=org, url="http://127.0.0.1:9/", events=["inbox.created"], secret=SECRET
    )
    event = record_event(org, event_type="inbox.created", payload={"name": "x"})
    row = Delivery.objects.get(event=event)
    row.status, row.attempts, row.last_error = Delivery.Status.DEAD, 10, "connection refused"
    row.save()
    return row


def test_admin_pages_show_webhooks_deliveries_and_attempts_but_never_the_secret(
    admin_client, dead_delivery
):
    webhook = dead_delivery.webhook
    for url in (
        "/admin/webhooks/webhook/",
        f"/admin/webhooks/webhook/{webhook.pk}/change/",
        "/admin/webhooks/delivery/",
        f"/admin/webhooks/delivery/{dead_delivery.pk}/change/",
        "/admin/webhooks/deliveryattempt/",
        "/admin/events/event/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert SECRET not in response.content.decode(), url
    page = admin_client.get(f"/admin/webhooks/delivery/{dead_delivery.pk}/change/").content.decode()
    assert "connection refused" in page


def test_retry_now_in_the_admin_sends_a_dead_delivery_again(
    admin_client, dead_delivery, django_capture_on_commit_callbacks
):
    with receiver(ok(), secret=SECRET) as hook:
        Webhook.objects.filter(pk=dead_delivery.webhook_id).update(url=hook.url)
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(
                "/admin/webhooks/delivery/",
                {"action": "retry_now", "_selected_action": [dead_delivery.pk]},
                follow=True,
            )
        assert "Queued 1 deliveries" in response.content.decode()
        [request] = hook.wait_for_requests(1)
    assert request.verified
    dead_delivery.refresh_from_db()
    assert dead_delivery.status == Delivery.Status.SUCCEEDED and dead_delivery.attempts == 11
    assert DeliveryAttempt.objects.get().attempt == 11


def test_retry_now_explains_what_it_could_not_retry(admin_client, dead_delivery):
    Delivery.objects.filter(pk=dead_delivery.pk).update(status=Delivery.Status.SUCCEEDED)
    response = admin_client.post(
        "/admin/webhooks/delivery/",
        {"action": "retry_now", "_selected_action": [dead_delivery.pk]},
        follow=True,
    )
    assert "Only a failed or dead delivery can be retried" in response.content.decode()
