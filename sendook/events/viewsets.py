"""/v1/events."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from sendook.api import OrgScopedViewSet
from sendook.events import selectors, services
from sendook.events.models import Organization
from sendook.events.serializers import EventSerializer
from sendook.exceptions import ServedByAsgi


class EventViewSet(OrgScopedViewSet):
    """The event log, oldest first: a consumer that was down pages on from the last id it saw."""

    serializer_class = EventSerializer
    read_scope = "events:read"
    newest_first = False
    ordering_field = "feed_seq"  # commit order; see services.sequence_events

    def list_rows(self, organization: Organization) -> Any:
        return services.read_feed(
            organization,
            after=self.request.query_params.get("after"),
            inbox_ids=self.visible_inbox_ids,
        )

    def get_row(self, organization: Organization, row_id: str) -> Any:
        return selectors.get_event(organization, row_id, inbox_ids=self.visible_inbox_ids)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "after", str, description="List only events after this event id (evt_…)."
            )
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Live event stream (Server-Sent Events)",
        description=(
            "The event log as it happens: `id:` is the event id, `event:` its type, `data:` "
            "the envelope. Resume with the `Last-Event-ID` header or `after`; without either "
            "the stream starts with the events committed after it opened. A `: heartbeat` "
            "comment comes every 15 s. Served by the ASGI process; a WSGI worker answers 503 "
            "`served_by_asgi`."
        ),
        parameters=[
            OpenApiParameter("after", str, description="Resume after this event id (evt_…)."),
            OpenApiParameter(
                "events", str, description="Comma-separated event names to receive (default all)."
            ),
            OpenApiParameter("inboxId", str, description="Only the events of this inbox."),
            OpenApiParameter(
                "Last-Event-ID",
                str,
                location=OpenApiParameter.HEADER,
                description="The last event id received (what EventSource sends on reconnect).",
            ),
        ],
        responses={
            (200, "text/event-stream"): OpenApiResponse(OpenApiTypes.STR, "The event stream"),
            429: OpenApiResponse(description="The organization's open streams are at the limit"),
            503: OpenApiResponse(description="Asked of a WSGI worker: `served_by_asgi`"),
        },
    )
    @action(detail=False, methods=["get"], url_path="stream", pagination_class=None)
    def stream(self, request: Request) -> Response:
        """What a WSGI worker answers: holding one of its few workers per stream would starve
        every other request, so only the ASGI process (sendook/asgi.py) serves the stream."""
        raise ServedByAsgi("GET /v1/events/stream")
