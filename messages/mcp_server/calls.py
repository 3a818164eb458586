"""What every tool shares, so that a tool is its arguments, one service call and a serializer.

`run_tool(scope, work)` is a tool call as the REST API would serve it: the key must hold the
scope its REST action declares (else a tool error naming it, like the API's 403), the call
spends the organization's API budget (and the send budgets for `send=True`, the API's
SEND_THROTTLES), `work(client)` runs the sync ORM work off the event loop (sync.py), and what
it returns (the API's JSON) becomes the tool's structured content plus the same JSON as text. Any
SendookError or DRF error becomes a tool error (isError) whose text starts with the API's
`code` and whose structured content is the API's error body.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

import pydantic
from django.conf import settings
from django.http import QueryDict
from mcp.types import CallToolResult, TextContent

from inboxes.models import ApiKey, Inbox, Organization
from inboxes.selectors import get_inbox
from messages.mcp_server.auth import current_client
from messages.mcp_server.sync import run_sync
from sendook.api import (
    ApiClient,
    CursorPagination,
    MissingScope,
    exception_handler,
    fingerprint_of,
    run_once,
    send_rates,
    spend_budgets,
)
from sendook.exceptions import RateLimited

Work = Callable[[ApiClient], dict[str, Any]]


def tool_result(data: dict[str, Any], text: str | None = None) -> CallToolResult:
    """Structured content for programs, the same as text for the model (or `text` instead,
    e.g. the context view's transcript)."""
    shown = text if text is not None else json.dumps(data, ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=shown)], structuredContent=data)


def error_result(body: dict[str, Any]) -> CallToolResult:
    """A tool error: `code: message` as text (what a model reads), then whatever else the API's
    body says (fields, the scope, newer message ids) as JSON; the API's body structured."""
    text = f"{body.get('code', 'error')}: {body.get('error', 'Error')}"
    details = {name: value for name, value in body.items() if name not in ("code", "error")}
    if details:
        text += " " + json.dumps(details, ensure_ascii=False, default=str)
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structuredContent=body, isError=True
    )


def error_of(exc: Exception) -> CallToolResult:
    """The API's own error rendering (sendook.api.errors.exception_handler): the same code,
    message and fields as the REST endpoint would answer."""
    response = exception_handler(exc, {})
    return error_result(dict(response.data))


def arguments_error(exc: pydantic.ValidationError) -> CallToolResult:
    """Arguments the tool's input schema refuses, named like the API's validation errors."""
    fields: dict[str, list[str]] = {}
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "arguments"
        fields.setdefault(name, []).append(error["msg"])
    first, messages = next(iter(fields.items()))
    return error_result(
        {"error": f"{first}: {messages[0]}", "code": "validation_error", "fields": fields}
    )


def _spend(client: ApiClient, *, send: bool) -> None:
    rates = [("api", settings.SENDOOK_API_RATE_LIMIT)]
    if send:
        rates += send_rates(client.organization)
    # The counters the API's throttles spend (keyed by organization, not by request).
    usage = spend_budgets(None, client.organization, rates)
    if usage is not None and usage.exceeded:
        wait = max(usage.seconds_left, 1)
        raise RateLimited(
            f"Rate limit exceeded ({usage.rate}); retry in {wait} s",
            extra={"retryAfter": wait},
        )


async def run_tool(
    scope: str, work: Work, *, send: bool = False, text: Callable[[dict], str] | None = None
) -> CallToolResult:
    client = current_client()
    if scope not in client.scopes:
        return error_of(MissingScope(scope))

    def checked() -> dict[str, Any]:
        _spend(client, send=send)
        return work(client)

    try:
        data = await run_sync(checked)
    except Exception as exc:  # the edge of a tool call: SendookError, DRF's, or a 500 body
        return error_of(exc)
    return tool_result(data, text(data) if text else None)


def org(client: ApiClient) -> Organization:
    """The key's organization as the apps' model (the kernel types it as a protocol)."""
    return cast(Organization, client.organization)


def key(client: ApiClient) -> ApiKey:
    """The key's row as the apps' model."""
    return cast(ApiKey, client.api_key)


def visible_inbox(client: ApiClient, inbox_id: str) -> Inbox:
    """The inbox of a tool's `inboxId`, as the API's nested routes resolve it: another
    organization's, or one outside a limited key's inboxes, is "Inbox not found"."""
    inbox = get_inbox(org(client), inbox_id, inbox_ids=client.inbox_ids)
    inbox.organization = org(client)
    return inbox


def query(**params: Any) -> QueryDict:
    """Tool arguments as the query string the REST list would get (None: not given)."""
    result = QueryDict(mutable=True)
    for name, value in params.items():
        if value is None:
            continue
        result.setlist(name, [str(item) for item in value] if isinstance(value, list) else [value])
    return result


def page(
    rows: Any,
    *,
    limit: int | None,
    cursor: str | None,
    ordering_field: str | None = None,
) -> tuple[list[Any], str | None]:
    """A page of `rows` cut exactly as the REST list cuts it (sendook.api.CursorPagination),
    and the cursor of the next page (None on the last)."""
    paginator = CursorPagination()
    request = SimpleNamespace(query_params=query(limit=limit, cursor=cursor))
    view = SimpleNamespace(newest_first=True, ordering_field=ordering_field)
    items = paginator.paginate_queryset(rows, request, view)  # type: ignore[arg-type]
    return items, paginator.next_cursor


def listing(name: str, items: Any, next_cursor: str | None) -> dict[str, Any]:
    """A list as structured content (which must be an object): the REST array under `name`,
    and `nextCursor` when there is more."""
    data: dict[str, Any] = {name: items}
    if next_cursor:
        data["nextCursor"] = next_cursor
    return data


def body_of(**arguments: Any) -> dict[str, Any]:
    """Tool arguments as the JSON body the REST endpoint takes (camelCase, unset ones left
    out), for the API's input serializers."""
    body = {}
    for name, value in arguments.items():
        if value is None:
            continue
        if isinstance(value, list):
            value = [
                item.model_dump(exclude_none=True) if isinstance(item, pydantic.BaseModel) else item
                for item in value
            ]
        body[name] = value
    return body


def validated(serializer_class: Any, body: dict[str, Any]) -> dict[str, Any]:
    """`body` through the REST endpoint's input serializer: the same rules, the same 400."""
    serializer = serializer_class(data=body)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def once(
    client: ApiClient,
    key: str | None,
    path: str,
    body: dict[str, Any],
    handler: Callable[[], dict[str, Any]],
    *,
    status: int = 202,
) -> dict[str, Any]:
    """`idempotencyKey` as the API's `Idempotency-Key` (sendook.api.idempotency): one effect
    per key, a repeat answered from the first answer. The record is the one the REST request
    `POST path` with this body would make, so a key used on /v1 and then here (or the other
    way) sends once."""
    if key is None:
        return handler()
    return run_once(
        client.organization,
        key,
        fingerprint_of(["POST", path, body]),
        handler,
        keep=lambda data: (status, data),
        replay=lambda record: record.response,
    )
