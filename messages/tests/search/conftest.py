import pytest

from inboxes.tests.factories import InboxFactory


@pytest.fixture
def inbox(org):
    return InboxFactory(organization=org, email="support@acme.test")
