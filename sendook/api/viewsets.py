"""Organization scoping: every row of a /v1 resource comes through a selector given the org."""

from __future__ import annotations

from typing import Any, cast

from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from sendook.api.auth import ApiClient, ApiKeyAuthentication
from sendook.api.pagination import CursorPagination
from sendook.api.parsers import BoundedJSONParser
from sendook.api.permissions import Forbidden, MissingScope, ScopePermission
from sendook.api.throttling import ApiRateThrottle
from sendook.exceptions import ValidationFailed


class OrgScopedViewSet(viewsets.GenericViewSet):
    """Base of every /v1 resource: auth, scopes, organization scope, pagination, rate limits.

    Subclasses provide `list_rows(organization)` (a queryset) and `get_row(organization, id)`
    (raising the resource's not-found error), both thin calls into the app's selectors, which
    also take `visible_inbox_ids` when the resource belongs to inboxes. They declare the scopes
    their actions need (sendook.api.permissions): `read_scope`, `write_scope`, `scopes`.
    """

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated, ScopePermission]
    # No default: an action a subclass does not declare is refused (see permissions.py).
    read_scope: str | None = None
    write_scope: str | None = None
    scopes: dict[str, str] = {}
    pagination_class = CursorPagination
    throttle_classes = [ApiRateThrottle]
    parser_classes = [BoundedJSONParser]
    lookup_url_kwarg = "id"
    # Ids are prefixed ULIDs and domains are names; anything else falls through to the JSON 404.
    lookup_value_regex = r"[A-Za-z0-9._@-]{1,255}"
    newest_first = True

    # The API key's organization is an instance of the app's model: typed Any so that the
    # apps' selectors, which take that model, accept it.
    @property
    def organization(self) -> Any:
        return self.request.auth.organization

    # The app's ApiKey row the request authenticated with (typed Any like the organization).
    @property
    def api_key(self) -> Any:
        return self.request.auth

    @property
    def visible_inbox_ids(self) -> frozenset[str] | None:
        """None for a key that sees every inbox, else the public ids of the only inboxes it
        sees: an inbox outside them answers 404 like another organization's."""
        return cast(ApiClient, self.request.user).inbox_ids

    def require_scope(self, scope: str) -> None:
        """For a scope that depends on what the body changes rather than on the action (the
        action's own scope is checked before the view runs): 403 naming it."""
        if scope not in cast(ApiClient, self.request.user).scopes:
            raise MissingScope(scope)

    def require_every_inbox(self, refusal: str) -> None:
        """For actions that reach beyond any one inbox: a key limited to some inboxes gets 403."""
        if self.visible_inbox_ids is not None:
            raise Forbidden(refusal)

    def list_rows(self, organization: Any) -> Any:
        raise NotImplementedError

    def get_row(self, organization: Any, row_id: str) -> Any:
        raise NotImplementedError

    def get_queryset(self) -> Any:
        return self.list_rows(self.organization)

    def get_object(self) -> Any:
        return self.get_row(self.organization, self.kwargs[self.lookup_url_kwarg])

    def respond(
        self, instance: Any, status_code: int = 200, *, serializer_class: Any = None
    ) -> Response:
        serializer_class = serializer_class or self.get_serializer_class()
        return Response(
            serializer_class(instance, context=self.get_serializer_context()).data,
            status=status_code,
        )

    def validated(self, serializer_class: Any, *, partial: bool = False) -> dict[str, Any]:
        data = self.request.data
        if not isinstance(data, dict):
            raise ValidationFailed("Request body must be a JSON object", code="validation_error")
        serializer = serializer_class(
            data=data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        data = self.get_serializer(page, many=True).data
        return self.get_paginated_response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.respond(self.get_object())

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        for header, value in getattr(request, "ratelimit_headers", {}).items():
            response.headers.setdefault(header, value)
        return super().finalize_response(request, response, *args, **kwargs)
