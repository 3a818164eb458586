"""Threads, messages and attachments for UI and search tests."""

import factory
from django.core.files.base import ContentFile

from inboxes.tests.factories import InboxFactory
from messages.models import Attachment, Message, Thread


class ThreadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Thread

    inbox = factory.SubFactory(InboxFactory)
    organization = factory.SelfAttribute("inbox.organization")
    subject = factory.Sequence(lambda n: f"Thread {n}")
    normalized_subject = factory.LazyAttribute(lambda o: o.subject.lower())


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    thread = factory.SubFactory(ThreadFactory)
    inbox = factory.SelfAttribute("thread.inbox")
    organization = factory.SelfAttribute("thread.organization")
    direction = Message.Direction.INBOUND
    status = Message.Status.RECEIVED
    from_email = "sender@example.com"
    to = factory.LazyAttribute(lambda o: [o.inbox.email])
    subject = factory.SelfAttribute("thread.subject")
    text = "Hello"

    @factory.post_generation
    def update_thread(obj, create, extracted, **kwargs):
        # What the sending and receiving services do: the thread shows its latest activity.
        if not create:
            return
        thread = obj.thread
        if thread.message_count == 0:
            thread.subject = obj.subject
            thread.normalized_subject = obj.subject.lower()
        thread.message_count += 1
        thread.last_message_at = obj.created_at
        thread.preview = obj.text[:200]
        if obj.from_email not in thread.participants:
            thread.participants = [*thread.participants, obj.from_email]
        thread.save()


class AttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attachment

    message = factory.SubFactory(MessageFactory)
    filename = "report.pdf"
    content_type = "application/pdf"
    file = factory.LazyAttribute(lambda o: ContentFile(b"%PDF-1.4 test", name=o.filename))
    size = 13
