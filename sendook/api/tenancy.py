"""What the kernel needs of the apps' models, without importing an app.

The models are named in settings the way AUTH_USER_MODEL names the user model
(SENDOOK_API_KEY_MODEL, SENDOOK_IDEMPOTENCY_MODEL: "app_label.ModelName") and looked up when
first used; the protocols say which of their fields the kernel reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class Organization(Protocol):
    """The tenant every API request acts for."""

    @property
    def public_id(self) -> str: ...

    @property
    def send_rate_limit(self) -> str: ...

    @property
    def daily_send_cap(self) -> int | None: ...


class ApiKey(Protocol):
    """An organization's key: `ApiKeyAuthentication` finds it by `key_hash` among unrevoked
    keys (`revoked_at` null) and notes `last_used_at`; `ScopePermission` reads its `scopes`,
    the viewsets its `inbox_ids` (None: every inbox)."""

    pk: Any
    prefix: str
    last_used_at: datetime | None
    scopes: list[str]
    inbox_ids: list[str] | None

    @property
    def organization(self) -> Organization: ...


class IdempotencyRecord(Protocol):
    """The kept answer to one request; the rows also have `organization` and `key`, unique
    together."""

    fingerprint: str
    status_code: int
    response: Any
    created_at: datetime

    def delete(self) -> Any: ...


def _model(setting: str) -> type[models.Model]:
    name = getattr(settings, setting)
    try:
        return apps.get_model(name, require_ready=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"{setting} must be of the form 'app_label.model_name'"
        ) from None
    except LookupError:
        raise ImproperlyConfigured(
            f"{setting} refers to model {name!r}, which is not installed"
        ) from None


def get_api_key_model() -> type[models.Model]:
    return _model("SENDOOK_API_KEY_MODEL")


def get_idempotency_model() -> type[models.Model]:
    return _model("SENDOOK_IDEMPOTENCY_MODEL")


def get_inbox_model() -> type[models.Model]:
    """The inboxes (rows with `organization` and `public_id`): the event stream's ?inboxId=
    answers 404 "Inbox not found" for one the key cannot see, as every /v1 inbox route does."""
    return _model("SENDOOK_INBOX_MODEL")
