import pytest

from webhooks.services.delivery import posting, queueing


@pytest.fixture(autouse=True)
def _webhook_settings(settings, monkeypatch):
    # Receivers in these tests listen on loopback, which production refuses.
    settings.SENDOOK_WEBHOOK_ALLOW_PRIVATE = True
    settings.SENDOOK_WEBHOOK_RETRY_SCHEDULE = [0.0, 0.0, 0.0]
    settings.SENDOOK_WEBHOOK_RETRY_JITTER = 0.0
    settings.SENDOOK_WEBHOOK_CONNECT_TIMEOUT = 1.0
    settings.SENDOOK_WEBHOOK_TIMEOUT = 1.0
    settings.SENDOOK_API_RATE_LIMIT = "100000/m"
    monkeypatch.setattr(posting, "resolver", None)
    # The embedded default delivers on a background thread; tests run that work inline so
    # they see it finish (a second thread would not see the test's uncommitted rows).
    monkeypatch.setattr(queueing, "run_in_background", lambda function, *args: function(*args))


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on-commit work (queueing deliveries) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def create_webhook(client, url, events=("inbox.created",), **extra):
    response = client.post(
        "/v1/webhooks", {"url": url, "events": list(events), **extra}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()
