"""/v1/lists (allow and block lists) and the release of blocked mail,
`POST /v1/inboxes/{id}/messages/{mid}/release`. The rules are messages.services.lists'."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from inboxes.models import Organization
from inboxes.selectors import get_inbox
from messages.api.serializers import MessageSerializer
from messages.models import ListEntry
from messages.services import lists
from messages.services.provenance import actor_of_request
from sendook.api import ApiModelSerializer, ApiSerializer, OrgScopedViewSet, Text
from sendook.exceptions import ValidationFailed

# Managing who may reach an inbox, and whom it may write to, is part of configuring it.
LIST_READ_SCOPE = "inboxes:read"
LIST_WRITE_SCOPE = "inboxes:write"


class ListEntrySerializer(ApiModelSerializer):
    type = serializers.CharField(source="kind", read_only=True)
    inbox_id = serializers.CharField(source="inbox.public_id", read_only=True, default=None)
    created_by = serializers.JSONField(read_only=True)

    class Meta:
        model = ListEntry
        fields = ["id", "_id", "direction", "type", "value", "inbox_id", "created_at", "created_by"]


class ListEntryInput(ApiSerializer):
    direction = serializers.ChoiceField(
        choices=ListEntry.Direction.values,
        error_messages={"invalid_choice": "Must be receive or send."},
    )
    type = serializers.ChoiceField(
        choices=ListEntry.Kind.values, error_messages={"invalid_choice": "Must be allow or block."}
    )
    # Checked by the service (normalize_value), which names the value in its error.
    value = Text(allow_blank=True, trim_whitespace=False)
    inbox_id = Text(max_length=255, required=False, help_text="Omit for the whole organization.")


_FILTERS = [
    OpenApiParameter("direction", str, enum=ListEntry.Direction.values),
    OpenApiParameter("type", str, enum=ListEntry.Kind.values),
    OpenApiParameter("inboxId", str, description="Only this inbox's entries."),
]


class ListEntryViewSet(OrgScopedViewSet):
    serializer_class = ListEntrySerializer
    read_scope = LIST_READ_SCOPE
    write_scope = LIST_WRITE_SCOPE

    def list_rows(self, organization: Organization) -> Any:
        params = self.request.query_params
        direction, kind = params.get("direction", ""), params.get("type", "")
        if direction and direction not in ListEntry.Direction.values:
            raise ValidationFailed.for_field("direction", "Must be receive or send.")
        if kind and kind not in ListEntry.Kind.values:
            raise ValidationFailed.for_field("type", "Must be allow or block.")
        inbox = None
        if params.get("inboxId"):
            inbox = get_inbox(organization, params["inboxId"], inbox_ids=self.visible_inbox_ids)
        return lists.list_entries(
            organization,
            direction=direction,
            kind=kind,
            inbox=inbox,
            inbox_ids=self.visible_inbox_ids,
        )

    def get_row(self, organization: Organization, row_id: str) -> Any:
        return lists.get_entry(organization, row_id, inbox_ids=self.visible_inbox_ids)

    @extend_schema(parameters=_FILTERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ListEntryInput, responses={201: ListEntrySerializer})
    def create(self, request: Request) -> Response:
        data = self.validated(ListEntryInput)
        inbox = None
        if data.get("inbox_id"):
            inbox = get_inbox(self.organization, data["inbox_id"], inbox_ids=self.visible_inbox_ids)
        else:
            self.require_every_inbox(
                "This API key is limited to some inboxes: name one with inboxId"
            )
        entry = lists.add_entry(
            self.organization,
            inbox=inbox,
            direction=data["direction"],
            kind=data["type"],
            value=data["value"],
            actor=actor_of_request(request),
        )
        return self.respond(entry, 201)

    def destroy(self, request: Request, id: str) -> Response:
        return self.respond(lists.remove_entry(self.get_object()))


class ReleaseActions:
    """Mixed into the inbox's MessageViewSet: release one blocked message."""

    @extend_schema(
        request=None,
        responses={200: MessageSerializer},
        description="Deliver a message held back by a receive block list (`status: blocked`) "
        "as received mail, once: `message.released`, then `message.received`. A message that "
        "is not blocked (already released) → 409 `message_not_blocked`.",
    )
    @action(detail=True, methods=["post"])
    def release(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        message = self.get_object()  # type: ignore[attr-defined]
        released = lists.release_message(message, actor=actor_of_request(request))
        return self.respond(released, serializer_class=MessageSerializer)  # type: ignore[attr-defined]
