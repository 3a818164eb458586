"""/v1/inboxes/{inbox_id}/drafts: messages written but not sent, and their send. The rules
are messages.services.drafts'; the send goes through the same send path, budget and
Idempotency-Key as every other send."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from inboxes.models import Organization
from messages import selectors
from messages.api import sending
from messages.api.serializers import (
    AddressList,
    AttachmentInput,
    LabelList,
    MessageDetailSerializer,
    MessageListItemSerializer,
    MessageSerializer,
)
from messages.api.supervision import SendAtField
from messages.api.viewsets import (
    SEND_THROTTLES,
    InboxNestedViewSet,
    sender_of,
)
from messages.services import drafts
from messages.services.provenance import actor_of_request
from sendook.api import ApiSerializer, Text, idempotent, validate_no_control_chars


class DraftInput(ApiSerializer):
    """The send body with every field optional; a complete send is checked when it is sent."""

    to = AddressList(required=False)
    cc = AddressList(required=False)
    bcc = AddressList(required=False)
    reply_to = AddressList(required=False, max_length=10)
    subject = Text(
        max_length=998, required=False, allow_blank=True, validators=[validate_no_control_chars]
    )
    text = Text(required=False, allow_blank=True, trim_whitespace=False)
    html = Text(required=False, allow_blank=True, trim_whitespace=False)
    labels = LabelList(required=False)
    attachments = AttachmentInput(many=True, required=False)
    send_at = SendAtField(
        required=False, allow_null=True, help_text="When the draft goes once sent; null clears it."
    )


class NewDraftInput(DraftInput):
    in_reply_to = Text(
        max_length=64,
        required=False,
        help_text="A message id of this inbox: the draft becomes a reply to it (its thread, "
        "subject, recipients and threading headers, each editable).",
    )


class DraftUpdateInput(DraftInput):
    """Only the fields given change; `attachments` replaces the draft's attachments."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if isinstance(self.initial_data, dict) and "inReplyTo" in self.initial_data:
            raise serializers.ValidationError(
                {"inReplyTo": ["A draft's thread is chosen when it is created."]}
            )
        return attrs


class DraftViewSet(InboxNestedViewSet):
    serializer_class = MessageListItemSerializer
    # Reading drafts is messages:read (the inbox's base); writing them drafts:write; sending one
    # is a send like any other.
    write_scope = "drafts:write"
    scopes = {"send": "messages:send"}

    def list_rows(self, organization: Organization) -> Any:
        return selectors.list_drafts(organization, inbox=self.inbox)

    def get_row(self, organization: Organization, row_id: str) -> Any:
        return selectors.get_draft(organization, row_id, inbox=self.inbox)

    def _for_change(self) -> Any:
        return selectors.get_draft_for_change(self.inbox, self.kwargs[self.lookup_url_kwarg])

    @extend_schema(responses={200: MessageDetailSerializer})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.respond(self.get_object(), serializer_class=MessageDetailSerializer)

    @extend_schema(request=NewDraftInput, responses={201: MessageSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def handler() -> Response:
            data = self.validated(NewDraftInput)
            draft = sending.create_draft(self.inbox, data, created_by=actor_of_request(request))
            return self.respond(draft, 201, serializer_class=MessageSerializer)

        return idempotent(request, self.organization, handler)

    @extend_schema(request=DraftUpdateInput, responses={200: MessageSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        draft = self._for_change()
        updated = sending.update_draft(draft, self.validated(DraftUpdateInput))
        return self.respond(updated, serializer_class=MessageSerializer)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        drafts.delete_draft(self._for_change())
        return Response(status=204)

    @extend_schema(
        request=None,
        responses={202: MessageSerializer},
        description="Send the draft as it is: the same checks and send policy as "
        "`POST …/messages/send` (a draft without `to` is a 400 naming it). 202 with the "
        "message, same id, now `queued`, `scheduled` or `pending_approval`.",
    )
    @action(detail=True, methods=["post"], throttle_classes=SEND_THROTTLES)
    def send(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def handler() -> Response:
            sent = drafts.send_draft(self._for_change(), sender=sender_of(request, {}))
            return self.respond(sent, 202, serializer_class=MessageSerializer)

        return idempotent(request, self.organization, handler)
