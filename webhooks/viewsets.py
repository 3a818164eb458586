"""/v1/webhooks."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from inboxes.models import Organization
from sendook.api import OrgScopedViewSet
from webhooks import selectors
from webhooks.serializers import (
    AttemptSerializer,
    DeliverySerializer,
    PingAttemptSerializer,
    WebhookCreateInput,
    WebhookSerializer,
    WebhookUpdateInput,
    WebhookWithSecretSerializer,
)
from webhooks.services import delivery as delivery_service
from webhooks.services import webhooks as webhook_service
from webhooks.services.delivery import queueing


class WebhookViewSet(OrgScopedViewSet):
    serializer_class = WebhookSerializer
    # Webhooks' URLs, deliveries and attempts (with the payloads they carried) are for whoever
    # manages webhooks.
    read_scope = write_scope = "webhooks:write"

    def list_rows(self, organization: Organization) -> Any:
        return selectors.list_webhooks(organization, inbox_ids=self.visible_inbox_ids)

    def get_row(self, organization: Organization, row_id: str) -> Any:
        return selectors.get_webhook(organization, row_id, inbox_ids=self.visible_inbox_ids)

    @extend_schema(request=WebhookCreateInput, responses={201: WebhookWithSecretSerializer})
    def create(self, request: Request) -> Response:
        data = self.validated(WebhookCreateInput)
        created = webhook_service.create_webhook(
            self.organization,
            url=data["url"],
            events=data["events"],
            inbox_ids=data["inbox_ids"],
            visible_inbox_ids=self.visible_inbox_ids,
        )
        response = self.respond(created.webhook, 201, serializer_class=WebhookWithSecretSerializer)
        return _with_warning(response, created.warning)

    @extend_schema(request=WebhookUpdateInput, responses={200: WebhookSerializer})
    def partial_update(self, request: Request, id: str) -> Response:
        data = self.validated(WebhookUpdateInput, partial=True)
        result = webhook_service.update_webhook(
            self.get_object(),
            url=data.get("url"),
            events=data.get("events"),
            inbox_ids=data.get("inbox_ids"),
            enabled=data.get("enabled"),
            rotate_secret=data.get("rotate_secret", False),
            visible_inbox_ids=self.visible_inbox_ids,
        )
        if result.secret:
            response = self.respond(result.webhook, serializer_class=WebhookWithSecretSerializer)
        else:
            response = self.respond(result.webhook)
        return _with_warning(response, result.warning)

    def destroy(self, request: Request, id: str) -> Response:
        return self.respond(webhook_service.delete_webhook(self.get_object()))

    @extend_schema(request=None, responses={200: PingAttemptSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, id: str) -> Response:
        # The one attempt made inside a request: the caller asked to wait for it.
        attempt = delivery_service.send_test(self.get_object())
        return self.respond(attempt, serializer_class=PingAttemptSerializer)

    @extend_schema(responses={200: AttemptSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def attempts(self, request: Request, id: str) -> Response:
        page = self.paginate_queryset(selectors.list_attempts(self.get_object()))
        return self.get_paginated_response(AttemptSerializer(page, many=True).data)

    @extend_schema(responses={200: DeliverySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, id: str) -> Response:
        page = self.paginate_queryset(selectors.list_deliveries(self.get_object()))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[A-Za-z0-9_]{1,64})/retry",
    )
    def retry(self, request: Request, id: str, delivery_id: str) -> Response:
        row = selectors.get_delivery(self.get_object(), delivery_id)
        retried = queueing.retry_delivery(row)
        return self.respond(retried, 202, serializer_class=DeliverySerializer)


def _with_warning(response: Response, warning: str) -> Response:
    if warning:
        response.data["warning"] = warning
    return response
