"""Threads, messages and attachments for UI and search tests."""

import factory
from django.core.files.base import ContentFile

from messages.models import Attachment
from messages.tests import factories


class ThreadFactory(factories.ThreadFactory):
    # Blank, as a new thread is before its first message: the thread service then takes the
    # first message's subject, as it does for real mail.
    subject = ""


class MessageFactory(factories.MessageFactory):
    """The shared received-message factory (its thread summary comes from the real thread
    service), with numbered subjects so lists and searches can tell threads apart."""

    thread = factory.SubFactory(ThreadFactory)
    from_email = "sender@example.com"
    from_name = ""
    subject = factory.Sequence(lambda n: f"Thread {n}")
    text = "Hello"


class AttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attachment

    message = factory.SubFactory(MessageFactory)
    filename = "report.pdf"
    content_type = "application/pdf"
    file = factory.LazyAttribute(lambda o: ContentFile(b"%PDF-1.4 test", name=o.filename))
    size = 13
