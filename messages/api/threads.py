"""/v1/inboxes/{inbox_id}/threads (status, assignee, labels, notes, activity) and
/v1/threads/bulk: thin adapters over messages.services.triage, notes and activity."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from inboxes.models import Organization
from messages import selectors
from messages.api.filters import IncludeFilter, validated_filters
from messages.api.serializers import LabelList, ThreadDetailSerializer, ThreadSerializer
from messages.api.supervision import ActorSerializer
from messages.api.viewsets import InboxNestedViewSet
from messages.models import Note, Thread, ThreadStatus
from messages.payloads import note_payload, thread_payload
from messages.services import notes, triage
from messages.services.activity import thread_activity
from messages.services.provenance import actor_of_request
from sendook.api import ApiSerializer, OrgScopedViewSet, Text, Timestamp

STATUS_CHOICES = ", ".join(ThreadStatus.values)


# --- input ----------------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "properties": {
            "type": {"type": "string", "enum": ["user", "api_key"]},
            "id": {"type": "string"},
        },
        "required": ["type", "id"],
    }
)
class AssigneeRefField(serializers.Field):
    """`{"type": "user"|"api_key", "id": "…"}` or null (nobody)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise serializers.ValidationError(
                'Must be {"type": "user"|"api_key", "id": "…"} or null.'
            )
        if data.get("type") not in ("user", "api_key"):
            raise serializers.ValidationError(
                f"type must be user or api_key, not {data.get('type')!r}."
            )
        return {"type": data["type"], "id": data["id"]}

    def to_representation(self, value: Any) -> Any:
        return value


class ThreadChangeFields(ApiSerializer):
    status = serializers.ChoiceField(
        choices=ThreadStatus.choices,
        required=False,
        error_messages={"invalid_choice": f'Unknown status "{{input}}"; one of {STATUS_CHOICES}.'},
    )
    snoozed_until = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When a snoozed thread wakes (in the future); alone it snoozes the thread, "
        "null wakes it now.",
    )
    assignee = AssigneeRefField(help_text="A member (`user_…`) or an API key (`key_…`), or null.")
    expected_assignee = AssigneeRefField(
        help_text="The assignee you saw (null: nobody). If the thread's is someone else now: "
        "409 `assignee_changed` naming them, and nothing is changed."
    )
    add_labels = LabelList(required=False)
    remove_labels = LabelList(required=False)


class ThreadUpdateInput(ThreadChangeFields):
    pass


class ThreadBulkInput(ThreadChangeFields):
    thread_ids = serializers.ListField(
        child=Text(max_length=64), min_length=1, max_length=triage.MAX_BULK_THREADS
    )


class NoteInput(ApiSerializer):
    text = Text(trim_whitespace=False, allow_blank=True)


def change_kwargs(organization: Organization, data: dict[str, Any]) -> dict[str, Any]:
    """A validated ThreadChangeFields body as triage.update_thread's keyword arguments."""
    kwargs: dict[str, Any] = {
        "add_labels": data.get("add_labels", []),
        "remove_labels": data.get("remove_labels", []),
    }
    for name in ("status", "snoozed_until", "expected_assignee"):
        if name in data:
            kwargs[name] = data[name]
    if "assignee" in data:
        kwargs["assignee"] = triage.resolve_assignee(organization, data["assignee"])
    return kwargs


# --- output ---------------------------------------------------------------------------------


class NoteSerializer(ApiSerializer):
    id = serializers.CharField(read_only=True)
    _id = serializers.CharField(read_only=True)
    thread_id = serializers.CharField(read_only=True)
    inbox_id = serializers.CharField(read_only=True)
    author = ActorSerializer(read_only=True)
    text = serializers.CharField(read_only=True)
    created_at = Timestamp(read_only=True)

    def to_representation(self, note: Note) -> dict[str, Any]:
        return note_payload(note)


class ActivitySerializer(ApiSerializer):
    """One timeline entry; `type` says which of the optional fields it carries (docs/api.md)."""

    id = serializers.CharField(read_only=True)
    type = serializers.ChoiceField(
        choices=[
            "message",
            "hold",
            "approval",
            "decline",
            "note",
            "status",
            "assignment",
            "labels",
        ],
        read_only=True,
    )
    at = Timestamp(read_only=True)
    actor = ActorSerializer(read_only=True, required=False)
    message_id = serializers.CharField(read_only=True, required=False)
    note_id = serializers.CharField(read_only=True, required=False)
    text = serializers.CharField(read_only=True, required=False)
    changes = serializers.DictField(read_only=True, required=False)
    direction = serializers.CharField(read_only=True, required=False)
    status = serializers.CharField(read_only=True, required=False)
    reason = serializers.CharField(read_only=True, required=False)

    def to_representation(self, entry: dict[str, Any]) -> dict[str, Any]:
        return entry


# --- the thread list's filters ----------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class StatusesParam(serializers.Field):
    """Every `status` parameter, each comma-separated; unknown statuses → 400."""

    def to_internal_value(self, data: Any) -> list[str]:
        values = [data] if isinstance(data, str) else list(data)
        statuses = [s.strip() for value in values for s in str(value).split(",") if s.strip()]
        unknown = [s for s in statuses if s not in ThreadStatus.values]
        if unknown:
            raise serializers.ValidationError(
                f'Unknown status "{unknown[0]}"; one of {STATUS_CHOICES}.'
            )
        return list(dict.fromkeys(statuses))


class ThreadListFilter(serializers.Serializer):
    status = StatusesParam(
        default=list,
        help_text=f"Comma-separated, any of: {STATUS_CHOICES}.",
    )
    assignee = serializers.RegexField(
        r"^(me|none|user_[A-Za-z0-9]{1,60}|key_[A-Za-z0-9]{1,60})$",
        required=False,
        error_messages={"invalid": "Must be me, none, a member id (user_…) or a key id (key_…)."},
        help_text="me (the API key making the request), none (unassigned), a member id "
        "(user_…) or an API key id (key_…).",
    )
    # A field named label (the metaclass takes it off the class), not Field.label.
    label = serializers.CharField(  # type: ignore[assignment]
        required=False, max_length=100, help_text="Carrying this label."
    )


# --- views ------------------------------------------------------------------------------------


class ThreadViewSet(InboxNestedViewSet):
    serializer_class = ThreadSerializer
    write_scope = "threads:write"
    ordering_field: str | None = "last_message_at"

    @cached_property
    def filters(self) -> dict[str, Any]:
        params: QueryDict = self.request.query_params.copy()
        if "status" in params:
            # Every ?status= counts, each comma-separated: ?status=open&status=pending.
            params.setlist("status", [",".join(self.request.query_params.getlist("status"))])
        return validated_filters(ThreadListFilter, params)

    def assignee_filter(self, organization: Organization) -> Any:
        wanted = self.filters.get("assignee")
        if wanted is None:
            return selectors.UNFILTERED
        if wanted == "me":
            return self.api_key
        if wanted == "none":
            return "none"
        return selectors.get_assignee(organization, wanted)

    def list_rows(self, organization: Organization) -> Any:
        return selectors.list_threads(
            organization,
            inbox=self.inbox,
            with_message_ids=True,
            status=self.filters["status"] or None,
            assignee=self.assignee_filter(organization),
            label=self.filters.get("label"),
            include_blocked=self.include_blocked,
        )

    def get_row(self, organization: Organization, row_id: str) -> Any:
        return selectors.get_thread(
            organization,
            row_id,
            inbox=self.inbox,
            with_messages=True,
            include_blocked=self.include_blocked,
        )

    def thread(self) -> Thread:
        return selectors.get_thread(self.organization, self.kwargs["id"], inbox=self.inbox)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description=f"Comma-separated: {STATUS_CHOICES}."),
            OpenApiParameter(
                "assignee", str, description="me, none, a member id (user_…) or a key id (key_…)."
            ),
            OpenApiParameter("label", str, description="Threads carrying this label."),
            IncludeFilter,
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: ThreadDetailSerializer})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.respond(self.get_object(), serializer_class=ThreadDetailSerializer)

    @extend_schema(
        request=ThreadUpdateInput,
        responses={200: ThreadSerializer},
        description="Change status, snooze time, assignee and labels at once; one "
        "`thread.updated` event says what changed. `expectedAssignee` makes it conditional.",
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        thread = self.thread()
        data = self.validated(ThreadUpdateInput)
        thread = triage.update_thread(
            thread, actor=actor_of_request(request), **change_kwargs(self.organization, data)
        )
        return self.respond(thread)

    @extend_schema(
        methods=["GET"],
        responses={200: NoteSerializer(many=True)},
        description="The thread's internal notes, newest first.",
    )
    @extend_schema(
        methods=["POST"],
        request=NoteInput,
        responses={201: NoteSerializer},
        description="Write an internal note (never sent); `note.created` announces it.",
    )
    @action(detail=True, methods=["get", "post"])
    def notes(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        thread = self.thread()
        if request.method == "POST":
            data = self.validated(NoteInput)
            note = notes.add_note(thread, actor=actor_of_request(request), text=data["text"])
            return self.respond(note, 201, serializer_class=NoteSerializer)
        self.ordering_field = None  # notes page by id, not by thread activity
        rows = Note.objects.filter(thread=thread).select_related("thread__inbox")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(NoteSerializer(page, many=True).data)

    @extend_schema(
        responses={200: ActivitySerializer(many=True)},
        description="One timeline, oldest first: messages, notes, status changes, assignments, "
        "label changes, holds, approvals and declines, each with its actor.",
    )
    @action(detail=True, methods=["get"])
    def activity(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(thread_activity(self.thread()))


class ThreadBulkViewSet(OrgScopedViewSet):
    """`POST /v1/threads/bulk`: one change to many threads of any of the key's inboxes."""

    serializer_class = ThreadSerializer
    scopes = {"bulk": "threads:write"}

    @extend_schema(
        request=ThreadBulkInput,
        responses={200: ThreadSerializer(many=True)},
        description="All or nothing: an id that is not one of your threads (another "
        "organization's, another inbox's for a limited key, unknown) → 404 naming it, and no "
        "thread is changed; so does any thread whose assignee is not `expectedAssignee`.",
    )
    def bulk(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.validated(ThreadBulkInput)
        threads = triage.update_threads(
            self.organization,
            data["thread_ids"],
            actor=actor_of_request(request),
            inbox_ids=self.visible_inbox_ids,
            **change_kwargs(self.organization, data),
        )
        ids = selectors.message_ids_of(threads)
        return Response([thread_payload(thread, message_ids=ids[thread.pk]) for thread in threads])
