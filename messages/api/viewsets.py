"""/v1/inboxes/{inbox_id}/messages and /v1/inboxes/{inbox_id}/threads."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from inboxes.models import Inbox, Organization
from inboxes.selectors import get_inbox
from messages import selectors
from messages.api import sending
from messages.api.approvals import ApprovalActions
from messages.api.filters import IncludeFilter, MessageListFilter, validated_filters
from messages.api.lists import ReleaseActions
from messages.api.serializers import (
    ForwardInput,
    LabelsInput,
    MessageDetailSerializer,
    MessageListItemSerializer,
    MessageSerializer,
    MessageSummarySerializer,
    ReplyInput,
    SendInput,
)
from messages.exceptions import RawMessageNotFound
from messages.models import Message
from messages.services import send as outbound
from messages.services import threads
from messages.services.mime import build_mime, render_mime
from messages.services.provenance import actor_of_request
from sendook.api import ApiRateThrottle, OrgScopedViewSet, SendRateThrottle, idempotent
from sendook.exceptions import ValidationFailed

SEND_THROTTLES = [ApiRateThrottle, SendRateThrottle]


def sender_of(request: Request, data: dict[str, Any]) -> outbound.Sender:
    return outbound.Sender(
        created_by=actor_of_request(request), api_key=request.auth, send_at=data.get("send_at")
    )


# --- If-Match on replies ----------------------------------------------------------------------

_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(msg_[A-Za-z0-9]{1,60})"?\s*$')


def expected_last_message_id(request: Request, data: dict[str, Any]) -> str | None:
    """`expectedLastMessageId` in the body or the `If-Match` header (`"msg_…"`, quotes
    optional, a W/ prefix tolerated, `*` = no expectation). A header that names no message id,
    or disagrees with the body → 400."""
    in_body = data.get("expected_last_message_id")
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return in_body
    match = _IF_MATCH.match(header)
    if match is None:
        raise ValidationFailed.for_field(
            "If-Match", 'Must be one message id, such as "msg_…" (the thread\'s lastMessageId).'
        )
    if in_body is not None and in_body != match.group(1):
        raise ValidationFailed.for_field(
            "expectedLastMessageId", "Differs from the message id in If-Match; send one of them."
        )
    return match.group(1)


class InboxNestedViewSet(OrgScopedViewSet):
    """Resolves the inbox of the URL through inboxes.selectors.get_inbox first (an inbox
    outside the key's own is not found, like another organization's)."""

    read_scope = "messages:read"

    @cached_property
    def inbox(self) -> Inbox:
        inbox = get_inbox(
            self.organization, self.kwargs["inbox_id"], inbox_ids=self.visible_inbox_ids
        )
        inbox.organization = self.organization  # the same row, already loaded by auth
        return inbox

    @property
    def include_blocked(self) -> bool:
        """`?include=blocked`: also mail held back by a receive block list."""
        return "blocked" in validated_filters(IncludeFilter, self.request.query_params)["include"]


class MessageViewSet(ApprovalActions, ReleaseActions, InboxNestedViewSet):
    serializer_class = MessageListItemSerializer
    # No write_scope: every action that changes something names its scope here.
    scopes = {
        "send": "messages:send",
        "reply": "messages:send",
        "reply_all": "messages:send",
        "forward": "messages:send",
        "partial_update": "threads:write",  # labels organize the conversation
        # A person's decision on a held message; cancelling one's own send is part of sending.
        "approve": "approvals:write",
        "reject": "approvals:write",
        "cancel": "messages:send",
        # Undoing a receive block list's hold, like managing the list.
        "release": "inboxes:write",
    }

    @cached_property
    def filters(self) -> dict[str, Any]:
        return validated_filters(MessageListFilter, self.request.query_params)

    def list_rows(self, organization: Organization) -> Any:
        filters = self.filters
        return selectors.list_messages(
            self.inbox,
            bodies=filters["view"] != "summary",
            query=filters["query"],
            labels=filters["labels"],
            before=filters["before"],
            after=filters["after"],
            include_blocked=self.include_blocked,
        )

    def get_row(self, organization: Organization, row_id: str) -> Message:
        return selectors.get_message(self.inbox, row_id)

    def get_serializer_class(self) -> Any:
        if self.action == "list" and self.filters["view"] == "summary":
            return MessageSummarySerializer
        return super().get_serializer_class()

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset) or []
        return selectors.complete_message_rows(self.inbox, page)

    @extend_schema(parameters=[MessageListFilter, IncludeFilter])
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

    @extend_schema(
        request=SendInput,
        responses={202: MessageSerializer},
        description="202 with the message: `queued`, `scheduled` (a `sendAt` or the inbox's "
        "`holdSeconds`) or `pending_approval` (held by a send policy; `hold` says why).",
    )
    @action(detail=False, methods=["post"], throttle_classes=SEND_THROTTLES)
    def send(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def handler() -> Response:
            data = self.validated(SendInput)
            message = sending.send_new(self.inbox, data, sender=sender_of(request, data))
            return self.respond(message, 202, serializer_class=MessageSerializer)

        return idempotent(request, self.organization, handler)

    def _reply(self, request: Request, *, reply_all: bool) -> Response:
        def handler() -> Response:
            parent = self.get_object()
            data = self.validated(ReplyInput)
            message = sending.send_reply(
                parent,
                data,
                sender=sender_of(request, data),
                reply_all=reply_all,
                expected_last_message_id=expected_last_message_id(request, data),
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
            message = sending.send_forward(
                parent,
                data,
                sender=sender_of(request, data),
                expected_last_message_id=expected_last_message_id(request, data),
            )
            return self.respond(message, 202, serializer_class=MessageSerializer)

        return idempotent(request, self.organization, handler)

    # The bytes keep the attachment's own Content-Type (application/pdf, image/png, ...).
    @extend_schema(responses={(200, "*/*"): OpenApiTypes.BINARY})
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<attachment_id>[A-Za-z0-9_-]{1,64})",
    )
    def attachment(
        self, request: Request, *args: Any, attachment_id: str, **kwargs: Any
    ) -> HttpResponse:
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
        response["Content-Disposition"] = content_disposition_header(
            True, f"{message.public_id}.eml"
        )
        return response
