"""/v1/api_keys, /v1/domains, /v1/inboxes."""

from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from inboxes import api_keys, selectors, services, supervision
from inboxes.models import Organization
from inboxes.serializers import (
    ApiKeyCreateInput,
    ApiKeySerializer,
    CreatedApiKeySerializer,
    DnsRecordSerializer,
    DomainCreateInput,
    DomainSerializer,
    InboxCreateInput,
    InboxSerializer,
    InboxUpdateInput,
    MemberSerializer,
    OrganizationSerializer,
    OrganizationUpdateInput,
)
from sendook.api import OrgScopedViewSet


class ApiKeyViewSet(OrgScopedViewSet):
    serializer_class = ApiKeySerializer
    # Key metadata (names, scopes, inboxes) is for whoever manages keys.
    read_scope = write_scope = "keys:write"

    def list_rows(self, organization: Organization) -> Any:
        return selectors.list_api_keys(organization, inbox_ids=self.visible_inbox_ids)

    def get_row(self, organization: Organization, row_id: str) -> Any:
        return selectors.get_api_key(organization, row_id, inbox_ids=self.visible_inbox_ids)

    @extend_schema(request=ApiKeyCreateInput, responses={201: CreatedApiKeySerializer})
    def create(self, request: Request) -> Response:
        data = self.validated(ApiKeyCreateInput)
        created = api_keys.create_api_key(
            self.organization,
            name=data["name"],
            scopes=data.get("scopes"),
            inbox_ids=data.get("inbox_ids"),
            require_approval=data.get("require_approval"),
            creator=self.api_key,
        )
        created.api_key.key = created.secret
        return self.respond(created.api_key, 201, serializer_class=CreatedApiKeySerializer)

    def destroy(self, request: Request, id: str) -> Response:
        return self.respond(api_keys.revoke_api_key(self.get_object(), revoker=self.api_key))


class DomainViewSet(OrgScopedViewSet):
    serializer_class = DomainSerializer
    # Domains are the organization's sending setup: reading their records is managing them.
    read_scope = write_scope = "domains:write"
    list_rows = staticmethod(selectors.list_domains)
    get_row = staticmethod(selectors.get_domain)

    @extend_schema(request=DomainCreateInput, responses={201: DomainSerializer})
    def create(self, request: Request) -> Response:
        data = self.validated(DomainCreateInput)
        return self.respond(services.create_domain(self.organization, name=data["name"]), 201)

    def destroy(self, request: Request, id: str) -> Response:
        return self.respond(services.delete_domain(self.get_object()))

    @extend_schema(responses={200: DnsRecordSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def dns(self, request: Request, id: str) -> Response:
        return Response(DnsRecordSerializer(self.get_object().records, many=True).data)

    @extend_schema(request=None, responses={200: DomainSerializer})
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, id: str) -> Response:
        return self.respond(services.verify_domain(self.get_object()))


class InboxViewSet(OrgScopedViewSet):
    serializer_class = InboxSerializer
    read_scope = "inboxes:read"
    write_scope = "inboxes:write"

    def list_rows(self, organization: Organization) -> Any:
        return selectors.list_inboxes(
            organization, inbox_ids=self.visible_inbox_ids
        ).select_related("domain", "organization")

    def get_row(self, organization: Organization, row_id: str) -> Any:
        return selectors.get_inbox(organization, row_id, inbox_ids=self.visible_inbox_ids)

    @extend_schema(request=InboxCreateInput, responses={201: InboxSerializer})
    def create(self, request: Request) -> Response:
        # Its new inbox would be outside its own list, out of its sight at once.
        self.require_every_inbox(
            "This API key is limited to some inboxes, so it cannot create inboxes"
        )
        data = self.validated(InboxCreateInput)
        inbox = services.create_inbox(self.organization, name=data["name"], email=data.get("email"))
        return self.respond(inbox, 201)

    @extend_schema(request=InboxUpdateInput, responses={200: InboxSerializer})
    def partial_update(self, request: Request, id: str) -> Response:
        data = self.validated(InboxUpdateInput, partial=True)
        if "send_policy" in data or "sending_paused" in data:
            # An agent may rename its inbox, never loosen the supervision over it.
            self.require_scope("approvals:write")
        policy = data.get("send_policy", {})
        with transaction.atomic():
            inbox = services.update_inbox(self.get_object(), name=data.get("name"))
            inbox = supervision.update_inbox_supervision(
                inbox,
                approval=policy.get("approval"),
                hold_seconds=policy.get("hold_seconds"),
                sending_paused=data.get("sending_paused"),
            )
        return self.respond(inbox)

    def destroy(self, request: Request, id: str) -> Response:
        return self.respond(services.delete_inbox(self.get_object()))


class OrganizationViewSet(OrgScopedViewSet):
    """`/v1/organization`: the key's own organization and its pause switch."""

    serializer_class = OrganizationSerializer
    read_scope = "inboxes:read"
    write_scope = "approvals:write"  # the pause switch supervises every agent

    def get_object(self) -> Organization:
        return self.organization

    @extend_schema(responses={200: OrganizationSerializer})
    def retrieve(self, request: Request, *args: object, **kwargs: object) -> Response:
        return self.respond(self.get_object())

    @extend_schema(request=OrganizationUpdateInput, responses={200: OrganizationSerializer})
    def partial_update(self, request: Request, *args: object, **kwargs: object) -> Response:
        self.require_every_inbox(
            "This API key is limited to some inboxes, so it cannot pause them all"
        )
        data = self.validated(OrganizationUpdateInput)
        organization = supervision.set_organization_paused(
            self.get_object(), paused=data["sending_paused"]
        )
        return self.respond(organization)


class MemberViewSet(OrgScopedViewSet):
    """`GET /v1/members`: the organization's people, the ids thread assignees take.

    `inboxes:read`: like the inboxes, members are part of the organization an agent works in,
    and an agent that may read its inboxes needs their ids to hand a thread to a person. A key
    limited to some inboxes sees every member too: people are not inside an inbox."""

    serializer_class = MemberSerializer
    read_scope = "inboxes:read"
    list_rows = staticmethod(selectors.members_of)
