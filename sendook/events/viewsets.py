"""/v1/events."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from sendook.api import OrgScopedViewSet
from sendook.events import selectors, services
from sendook.events.models import Organization
from sendook.events.serializers import EventSerializer


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
