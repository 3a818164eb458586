"""Argument types the tools share: the API's camelCase ids, with descriptions a model reads in
each tool's input schema. Length and shape checks stay in the API's input serializers; these
only say what each argument is."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

InboxId = Annotated[str, Field(description="An inbox id (inbox_…) from list_inboxes.")]
ThreadId = Annotated[str, Field(description="A thread id (thread_…).")]
MessageId = Annotated[str, Field(description="A message id (msg_…).")]
DraftId = Annotated[str, Field(description="A draft's message id (msg_…) from create_draft.")]
Addresses = Annotated[
    list[str] | str,
    Field(description='Email addresses, each "addr@example.com" or "Name <addr@example.com>".'),
]
Labels = Annotated[list[str], Field(description='Label names, e.g. ["urgent", "billing"].')]
Text = Annotated[str, Field(description="Plain-text body.")]
Html = Annotated[str, Field(description="HTML body (optional; text is enough).")]
Limit = Annotated[int, Field(ge=1, le=200, description="Page size (default 50, at most 200).")]
Cursor = Annotated[str, Field(description="nextCursor from the previous page of this list.")]
IdempotencyKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        description="Any unique string: a retry with the same key sends once and returns the "
        "first result (the REST API's Idempotency-Key).",
    ),
]
ExpectedLastMessageId = Annotated[
    str,
    Field(
        description="The thread's lastMessageId as you last saw it: if newer messages arrived "
        "since, nothing is sent and the error (thread_changed) names them, so you can read "
        "them first.",
    ),
]
SendAt = Annotated[
    str,
    Field(description="ISO 8601 date-time to send at (scheduled), instead of now."),
]


class Attachment(BaseModel):
    """A file to attach."""

    name: Annotated[str, Field(description="File name, e.g. report.pdf.")]
    content: Annotated[str, Field(description="The file's bytes, base64-encoded.")]
    contentType: Annotated[
        str | None, Field(description="MIME type; guessed from the name if omitted.")
    ] = None
    contentId: Annotated[
        str | None, Field(description="Content-ID, for an inline image the HTML refers to.")
    ] = None


Attachments = Annotated[list[Attachment], Field(description="Files to attach.")]
