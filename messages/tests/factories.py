import factory

from inboxes.tests.factories import InboxFactory
from messages.models import Message, Thread


class ThreadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Thread

    inbox = factory.SubFactory(InboxFactory)
    organization = factory.SelfAttribute("inbox.organization")
    subject = "Hello"


class MessageFactory(factory.django.DjangoModelFactory):
    """A received message (from an outside sender) in an inbox."""

    class Meta:
        model = Message

    thread = factory.SubFactory(ThreadFactory)
    inbox = factory.SelfAttribute("thread.inbox")
    organization = factory.SelfAttribute("inbox.organization")
    direction = Message.Direction.INBOUND
    status = Message.Status.RECEIVED
    from_email = "customer@example.com"
    from_name = "Carol Customer"
    to = factory.LazyAttribute(lambda m: [m.inbox.email])
    subject = "Hello"
    text = "Hi there"
    message_id = factory.Sequence(lambda n: f"<external-{n}@example.com>")

    @factory.post_generation
    def add_to_thread(obj, create, extracted, **kwargs):
        if create:
            from messages.services.threads import add_to_thread

            add_to_thread(obj.thread, obj)
