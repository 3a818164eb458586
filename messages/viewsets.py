"""/v1/inboxes/{inbox_id}/messages and /v1/inboxes/{inbox_id}/threads."""

from __future__ import annotations

from datetime import UTC, datetime, time
from functools import cached_property
from typing import Any

from django.http import HttpResponse
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from inboxes.models import Inbox, Organization
from inboxes.selectors import get_inbox
from messages import selectors
from messages.exceptions import RawMessageNotFound
from messages.models import Message
from messages.serializers import (
    ForwardInput,
    LabelsInput,
    MessageDetailSerializer,
    MessageListItemSerializer,
    MessageSerializer,
    MessageSummarySerializer,
    ReplyInput,
    SendInput,
    ThreadDetailSerializer,
    ThreadSerializer,
)
from messages.services import send as outbound
from messages.services import threads
from messages.services.mime import build_mime, render_mime
from sendook.api import ApiRateThrottle, OrgScopedViewSet, SendRateThrottle, idempotent
from sendook.exceptions import ValidationFailed

SEND_THROTTLES = [ApiRateThrottle, SendRateThrottle]


def _parse_when(name: str, raw: str) -> datetime:
    """An ISO 8601 date or date-time query parameter; a well-formed but impossible one
    (`2024-13-45T10:00:00`) is a 400 naming the parameter like any other bad value."""
    try:
        value = parse_datetime(raw) if "T" in raw or " " in raw else None
        if value is None:
            day = parse_date(raw)
            if day is None:
                raise ValueError(raw)
            value = datetime.combine(day, time.min)
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC)  # an offset past datetime's range overflows here
    except (ValueError, OverflowError):
        raise ValidationFailed.for_field(name, "Must be an ISO 8601 date or date-time.") from None


def _attachments(data: dict[str, Any]) -> list[outbound.NewAttachment]:
    return [
        outbound.NewAttachment(
            name=item["name"], content_type=item["content_type"], content=item["content"],
            content_id=item.get("content_id", ""),
        )
        for item in data.get("attachments", [])
    ]


class InboxNestedViewSet(OrgScopedViewSet):
    """Resolves the inbox of the URL through inboxes.selectors.get_inbox first."""

    @cached_property
    def inbox(self) -> Inbox:
        inbox = get_inbox(self.organization, self.kwargs["inbox_id"])
        inbox.organization = self.organization  # the same row, already loaded by auth
        return inbox


class MessageViewSet(InboxNestedViewSet):
    serializer_class = MessageListItemSerializer

    def list_rows(self, organization: Organization) -> Any:
        params = self.request.query_params
        labels = [
            label.strip()
            for value in params.getlist("labels")
            for label in value.split(",")
            if label.strip()
        ]
        before, after = params.get("before"), params.get("after")
        return selectors.list_messages(
            self.inbox,
            bodies=not self.summary,
            query=params.get("query", "").strip(),
            labels=labels,
            before=_parse_when("before", before) if before else None,
            after=_parse_when("after", after) if after else None,
        )

    def get_row(self, organization: Organization, row_id: str) -> Message:
        return selectors.get_message(self.inbox, row_id)

    @cached_property
    def summary(self) -> bool:
        view = self.request.query_params.get("view", "full")
        if view not in ("full", "summary"):
            raise ValidationFailed.for_field("view", "Must be full or summary.")
        return view == "summary"

    def get_serializer_class(self) -> Any:
        if self.action == "list" and self.summary:
            return MessageSummarySerializer
        return super().get_serializer_class()

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset) or []
        return selectors.complete_message_rows(self.inbox, page)

    @extend_schema(
        parameters=[
            OpenApiParameter("query", OpenApiTypes.STR, description=(
                "Search: plain words are case-insensitive substrings of subject, text, from, to, "
                "cc or labels; \"phrases\", -word, OR, and the operators from:, to:, subject:, "
                "label:, has:attachment, before:/after: (YYYY-MM-DD), is:sent, is:received, "
                "is:read, is:unread. Unknown operators and bad dates: 400 invalid_query."
            )),
            OpenApiParameter("labels", OpenApiTypes.STR, description="Comma-separated; messages carrying all of them."),
            OpenApiParameter("before", OpenApiTypes.DATETIME),
            OpenApiParameter("after", OpenApiTypes.DATETIME),
            OpenApiParameter("view", OpenApiTypes.STR, enum=["full", "summary"], description=(
                "full (default): message objects with text and html; summary: without the "
                "bodies, with a preview, for smaller pages."
            )),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: MessageDetailSerializer})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.respond(self.get_object(), serializer_class=MessageDetailSerializer)

    @extend_schema(request=LabelsInput, responses={200: MessageSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.validated(LabelsInput)
        message = threads.update_labels(
            self.get_object(), add=data.get("add_labels", []), remove=data.get("remove_labels", [])
        )
        return self.respond(message, serializer_class=MessageSerializer)

    @extend_schema(request=SendInput, responses={202: MessageSerializer})
    @action(detail=False, methods=["post"], throttle_classes=SEND_THROTTLES)
    def send(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def handler() -> Response:
            data = self.validated(SendInput)
            message = outbound.send_message(
                self.inbox, to=data["to"], cc=data.get("cc", []), bcc=data.get("bcc", []),
                reply_to=data.get("reply_to", []), subject=data["subject"],
                text=data.get("text", ""), html=data.get("html", ""),
                labels=data.get("labels", []), attachments=_attachments(data),
            )
            return self.respond(message, 202, serializer_class=MessageSerializer)

        return idempotent(request, self.organization, handler)

    def _reply(self, request: Request, *, reply_all: bool) -> Response:
        def handler() -> Response:
            parent = self.get_object()
            data = self.validated(ReplyInput)
            message = outbound.reply_to_message(
                parent, reply_all=reply_all, text=data.get("text", ""), html=data.get("html", ""),
                cc=data.get("cc", []), bcc=data.get("bcc", []), reply_to=data.get("reply_to", []),
                labels=data.get("labels", []), attachments=_attachments(data),
            )
            return self.respond(message, 202, serializer_class=MessageSerializer)

        return idempotent(request, self.organization, handler)

    @extend_schema(request=ReplyInput, responses={202: MessageSerializer})
    @action(detail=True, methods=["post"], throttle_classes=SEND_THROTTLES)
    def reply(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._reply(request, reply_all=False)

    @extend_schema(request=ReplyInput, responses={202: MessageSerializer})
    @action(detail=True, methods=["post"], url_path="reply-all", throttle_classes=SEND_THROTTLES)
    def reply_all(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._reply(request, reply_all=True)

    @extend_schema(request=ForwardInput, responses={202: MessageSerializer})
    @action(detail=True, methods=["post"], throttle_classes=SEND_THROTTLES)
    def forward(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def handler() -> Response:
            parent = self.get_object()
            data = self.validated(ForwardInput)
            message = outbound.forward_message(
                parent, to=data["to"], cc=data.get("cc", []), bcc=data.get("bcc", []),
                text=data.get("text", ""), html=data.get("html", ""),
                labels=data.get("labels", []), attachments=_attachments(data),
            )
            return self.respond(message, 202, serializer_class=MessageSerializer)

        return idempotent(request, self.organization, handler)

    # The bytes keep the attachment's own Content-Type (application/pdf, image/png, ...).
    @extend_schema(responses={(200, "*/*"): OpenApiTypes.BINARY})
    @action(
        detail=True, methods=["get"],
        url_path=r"attachments/(?P<attachment_id>[A-Za-z0-9_-]{1,64})",
    )
    def attachment(self, request: Request, *args: Any, attachment_id: str, **kwargs: Any) -> HttpResponse:
        attachment = selectors.get_attachment(self.get_object(), attachment_id)
        with attachment.file.open("rb") as handle:
            content = handle.read()
        response = HttpResponse(content, content_type=attachment.content_type)
        response["Content-Disposition"] = content_disposition_header(True, attachment.filename)
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @extend_schema(responses={(200, "message/rfc822"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def raw(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        message = self.get_object()
        if message.raw:
            with message.raw.open("rb") as handle:
                content = handle.read()
        elif message.direction == Message.Direction.OUTBOUND:
            # Still queued: what the worker will send (the Date header is the creation time).
            content = render_mime(build_mime(message))
        else:
            raise RawMessageNotFound()
        response = HttpResponse(content, content_type="message/rfc822")
        response["Content-Disposition"] = content_disposition_header(True, f"{message.public_id}.eml")
        return response


class ThreadViewSet(InboxNestedViewSet):
    serializer_class = ThreadSerializer
    ordering_field = "last_message_at"

    def list_rows(self, organization: Organization) -> Any:
        return selectors.list_threads(self.inbox)

    def get_row(self, organization: Organization, row_id: str) -> Any:
        return selectors.get_thread(self.inbox, row_id)

    @extend_schema(responses={200: ThreadDetailSerializer})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.respond(self.get_object(), serializer_class=ThreadDetailSerializer)
