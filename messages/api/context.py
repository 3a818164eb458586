"""GET /v1/inboxes/{inbox_id}/threads/{id}/context: a thread as an agent should read it
(messages/services/context.py), as JSON or, with `?format=text`, a marked-up transcript."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from messages import selectors
from messages.api.authentication import TrustSerializer
from messages.api.viewsets import InboxNestedViewSet
from messages.services.context import thread_context, transcript
from sendook.api import ApiSerializer
from sendook.exceptions import ValidationFailed

FORMATS = ("json", "text")


def max_chars_limit() -> int:
    return settings.SENDOOK_CONTEXT_MAX_CHARS


class ContextAttachmentSerializer(ApiSerializer):
    id = serializers.CharField()
    name = serializers.CharField()
    content_type = serializers.CharField()
    text = serializers.CharField(required=False, help_text="Extracted text (PDF, DOCX, HTML…).")
    text_unavailable = serializers.CharField(
        required=False, help_text="Why there is no text: too large, encrypted, unreadable…"
    )
    truncated = serializers.BooleanField(required=False, help_text="Cut to fit maxChars.")


class AuthenticationSerializer(ApiSerializer):
    spf = serializers.CharField()
    dkim = serializers.CharField()
    dmarc = serializers.CharField()
    arc = serializers.CharField(required=False)
    checked_by = serializers.CharField()


class ContextMessageSerializer(ApiSerializer):
    id = serializers.CharField()
    direction = serializers.ChoiceField(choices=["inbound", "outbound"])
    from_name = serializers.CharField(required=False)
    to = serializers.ListField(child=serializers.CharField())
    cc = serializers.ListField(child=serializers.CharField(), required=False)
    at = serializers.CharField(help_text="When it was sent (ISO 8601 UTC).")
    text = serializers.CharField(help_text="What it newly says: quotes and signature removed.")
    attachments = ContextAttachmentSerializer(many=True)
    authentication = AuthenticationSerializer(required=False)
    trust = TrustSerializer(required=False)
    truncated = serializers.BooleanField(required=False, help_text="Its text was cut or dropped.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.CharField()
        return fields


class ThreadContextSerializer(ApiSerializer):
    thread_id = serializers.CharField()
    subject = serializers.CharField()
    participants = serializers.ListField(child=serializers.CharField())
    messages = ContextMessageSerializer(many=True)
    truncated = serializers.BooleanField(help_text="Some text was cut to fit maxChars.")


class ThreadContextViewSet(InboxNestedViewSet):
    """Read-only: scope messages:read, the inbox resolved like every nested route."""

    read_scope = "messages:read"

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # `?format=` names this view's output, not a DRF renderer: errors stay JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="thread_context",
        parameters=[
            OpenApiParameter(
                "maxChars",
                OpenApiTypes.INT,
                description="Bound on the total text; the oldest messages' text goes first.",
            ),
            OpenApiParameter("format", OpenApiTypes.STR, enum=list(FORMATS)),
        ],
        responses={
            200: OpenApiResponse(
                ThreadContextSerializer,
                description="JSON, or with format=text a text/plain transcript.",
            )
        },
    )
    def context(self, request: Request, *args: Any, **kwargs: Any) -> Response | HttpResponse:
        max_chars, output = self._query(request)
        thread = selectors.get_thread(self.organization, self.kwargs["id"], inbox=self.inbox)
        context = thread_context(thread, max_chars=max_chars)
        if output == "text":
            return HttpResponse(transcript(context), content_type="text/plain; charset=utf-8")
        return Response(context)

    def _query(self, request: Request) -> tuple[int, str]:
        limit = max_chars_limit()
        raw = request.query_params.get("maxChars")
        if raw is None or raw == "":
            max_chars = limit
        elif not raw.isdigit() or int(raw) > limit:
            raise ValidationFailed.for_field(
                "maxChars", f"Must be a whole number from 0 to {limit}, not {raw[:40]!r}."
            )
        else:
            max_chars = int(raw)
        output = request.query_params.get("format") or "json"
        if output not in FORMATS:
            raise ValidationFailed.for_field(
                "format", f"Must be json or text, not {output[:40]!r}."
            )
        return max_chars, output
