import pytest

from inboxes.services import create_api_key
from inboxes.tests.factories import MembershipFactory, UserFactory
from messages.models import Thread
from messages.tests.mail_factories import MessageFactory, ThreadFactory
from sendook.events.models import Event


@pytest.fixture
def dana(org):
    """A member of the organization (a person), with a name."""
    return MembershipFactory(
        organization=org, user=UserFactory(first_name="Dana", last_name="Scully")
    )


@pytest.fixture
def fox(org):
    return MembershipFactory(
        organization=org, user=UserFactory(first_name="Fox", last_name="Mulder"), role="member"
    )


@pytest.fixture
def outsider(other_org):
    """A member of another organization."""
    return MembershipFactory(organization=other_org)


@pytest.fixture
def agent(org):
    return create_api_key(org, name="Support bot").api_key


@pytest.fixture
def conversation(inbox):
    """A thread with two received messages."""
    thread = ThreadFactory(inbox=inbox)
    MessageFactory(inbox=inbox, thread=thread, text="first", labels=["billing"])
    MessageFactory(inbox=inbox, thread=thread, text="second")
    return Thread.objects.get(pk=thread.pk)


@pytest.fixture
def events():
    def of(event_type):
        return [event.payload for event in Event.objects.filter(type=event_type).order_by("id")]

    return of
