"""The approval queue: `GET /v1/approvals`, `POST /v1/approvals/release` and the approve /
reject / cancel actions of `/v1/inboxes/{id}/messages/{mid}`. The decisions themselves are
messages.services.approvals'."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from inboxes.models import Organization
from inboxes.selectors import get_inbox
from messages import selectors
from messages.api.serializers import MessageSerializer
from messages.api.supervision import ApproveInput, RejectInput, ReleaseInput
from messages.exceptions import ApprovalNotAllowed
from messages.services import approvals
from messages.services.provenance import Actor, actor_of_request
from sendook.api import OrgScopedViewSet


def _decider(request: Request) -> Actor:
    # A key whose own sends wait for a person must not be the person.
    if request.auth.require_approval:
        raise ApprovalNotAllowed()
    return actor_of_request(request)


class ApprovalActions:
    """Mixed into the inbox's MessageViewSet: the decisions on one held or scheduled message."""

    @extend_schema(request=ApproveInput, responses={202: MessageSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        by = _decider(request)
        message = self.get_object()  # type: ignore[attr-defined]
        data = self.validated(ApproveInput)  # type: ignore[attr-defined]
        approved = approvals.approve_message(
            message,
            by=by,
            subject=data.get("subject"),
            text=data.get("text"),
            html=data.get("html"),
        )
        return self.respond(approved, 202, serializer_class=MessageSerializer)  # type: ignore[attr-defined]

    @extend_schema(request=RejectInput, responses={200: MessageSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        by = _decider(request)
        message = self.get_object()  # type: ignore[attr-defined]
        data = self.validated(RejectInput)  # type: ignore[attr-defined]
        declined = approvals.reject_message(message, by=by, reason=data.get("reason", ""))
        return self.respond(declined, serializer_class=MessageSerializer)  # type: ignore[attr-defined]

    @extend_schema(request=None, responses={200: MessageSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        message = self.get_object()  # type: ignore[attr-defined]
        cancelled = approvals.cancel_message(message, by=actor_of_request(request))
        return self.respond(cancelled, serializer_class=MessageSerializer)  # type: ignore[attr-defined]


class ApprovalViewSet(OrgScopedViewSet):
    """The organization's messages waiting for a person, oldest first."""

    serializer_class = MessageSerializer
    newest_first = False
    read_scope = "messages:read"
    scopes = {"release": "approvals:write"}

    def get_row(self, organization: Organization, row_id: str) -> Any:
        return selectors.get_pending_approval(
            organization, row_id, inbox_ids=self.visible_inbox_ids
        )

    def list_rows(self, organization: Organization) -> Any:
        return selectors.list_pending_approvals(organization, inbox_ids=self.visible_inbox_ids)

    @extend_schema(
        request=ReleaseInput,
        responses={
            200: OpenApiResponse(
                inline_serializer("Released", {"released": serializers.IntegerField()})
            )
        },
        description="Approve every message held by a pause switch (the organization's, or "
        "with `inboxId` one inbox's), each recorded as approved by the caller.",
    )
    @action(detail=False, methods=["post"])
    def release(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        by = _decider(request)
        data = self.validated(ReleaseInput)
        inbox = None
        if "inbox_id" in data:
            inbox = get_inbox(self.organization, data["inbox_id"], inbox_ids=self.visible_inbox_ids)
        else:
            # An organization-wide release would reach inboxes this key cannot see.
            self.require_every_inbox(
                "This API key is limited to some inboxes: name one with inboxId"
            )
        count = approvals.release_paused_messages(self.organization, by=by, inbox=inbox)
        return Response({"released": count})
