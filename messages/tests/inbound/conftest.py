import pytest

from inboxes.tests.factories import InboxFactory


@pytest.fixture
def inbox(org):
    return InboxFactory(organization=org, email="support@sendook.localhost", name="Support")


@pytest.fixture
def receive(django_capture_on_commit_callbacks):
    """receive_raw_email as a provider would call it, running the on-commit parse task."""
    from messages.services.receive import receive_raw_email

    def _receive(raw, *, to=("support@sendook.localhost",), source="local", notification_id=""):
        with django_capture_on_commit_callbacks(execute=True):
            record = receive_raw_email(
                raw, recipients=list(to), source=source, notification_id=notification_id
            )
        record.refresh_from_db()
        return record

    return _receive
