"""Bearer API-key authentication (`ApiKeyAuthentication`) and the keys' secrets."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import cast

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from rest_framework import exceptions as drf_exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from sendook.api.tenancy import ApiKey, get_api_key_model
from sendook.exceptions import SendookError

API_KEY_PREFIX = "sk_"


class Unauthorized(SendookError):
    """401 for the raw ASGI apps (the event stream, /mcp), which run outside DRF: what DRF's
    AuthenticationFailed answers on /v1, with the challenge."""

    status_code = 401
    code = "unauthorized"
    message = "Missing API key"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="sendook"'})


class ApiClient:
    """The authenticated principal of an API request: an organization, through one key, with
    what that key may do (`scopes`) and see (`inbox_ids`: None for every inbox, else the public
    ids of the only inboxes it sees), all read from the key's own row."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.organization = api_key.organization
        self.scopes = frozenset(api_key.scopes)
        self.inbox_ids = None if api_key.inbox_ids is None else frozenset(api_key.inbox_ids)

    def __str__(self) -> str:
        return f"api key {self.api_key.prefix}"


def hash_api_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_api_key_secret() -> tuple[str, str, str]:
    """Returns (secret, visible prefix, hash)."""
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return secret, secret[:11], hash_api_key(secret)


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiClient, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        client = authenticate_bearer(header)
        return client, client.api_key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


# Writing last_used_at on every request would turn reads into writes; once a minute is precise
# enough to tell which keys are in use.
TOUCH_INTERVAL = timedelta(minutes=1)


def authenticate_bearer(header: str) -> ApiClient:
    """The principal of an `Authorization: Bearer sk_…` header value, for every way in that takes
    an API key (the REST API, the event stream, /mcp). Raises AuthenticationFailed (401) for a
    malformed header or a key that is unknown or revoked."""
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret or len(secret) > 200:
        raise drf_exceptions.AuthenticationFailed("Invalid Authorization header")
    keys = get_api_key_model()._default_manager
    try:
        api_key = cast(
            ApiKey,
            keys.select_related("organization").get(
                key_hash=hash_api_key(secret), revoked_at__isnull=True
            ),
        )
    except ObjectDoesNotExist:
        raise drf_exceptions.AuthenticationFailed("Invalid API key") from None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > TOUCH_INTERVAL:
        keys.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return ApiClient(api_key)
