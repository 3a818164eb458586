"""Mail's tables (app label "mail"): threads and the work on them (threads.py), messages and
their attachments (messages.py), and what arrives before it is a message plus who may send or
receive (inbound.py). Everything is importable from `messages.models`."""

from messages.models.inbound import InboundEmail, ListEntry, Suppression
from messages.models.messages import Attachment, Correspondent, Message
from messages.models.threads import Note, Thread, ThreadActivity, ThreadRule, ThreadStatus

__all__ = [
    "Attachment",
    "Correspondent",
    "InboundEmail",
    "ListEntry",
    "Message",
    "Note",
    "Suppression",
    "Thread",
    "ThreadActivity",
    "ThreadRule",
    "ThreadStatus",
]
