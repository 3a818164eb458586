"""Applying a checked plan to a locked thread: the thread row, its activity rows and one
`thread.updated` event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from inboxes.models import ApiKey, Membership
from messages.exceptions import AssigneeChanged
from messages.models import Message, Thread, ThreadActivity, ThreadStatus
from messages.payloads import assignee_ref, thread_assignee, thread_payload
from messages.services.provenance import Actor
from messages.services.triage.assignees import check_assignee, identity_of
from messages.services.triage.plan import UNSET, Plan
from sendook.api import format_timestamp
from sendook.events.models import EventType
from sendook.events.services import record_event
from sendook.exceptions import ValidationFailed

# --- applying it ------------------------------------------------------------------------------


def lock_threads(rows: QuerySet[Thread]) -> list[Thread]:
    """The threads of `rows`, locked, then read. Locking and reading are two statements on
    purpose: PostgreSQL rechecks a row it waited for against its new version but keeps the
    joined rows (the assignee) it first found, so a thread locked with its assignee joined
    would show the assignee from before the change that made it wait. Read after the lock
    (a new snapshot under READ COMMITTED), the thread is what the winner committed."""
    pks = list(rows.select_for_update().order_by("id").values_list("pk", flat=True))
    return list(
        Thread.objects.filter(pk__in=pks)
        .select_related("organization", "inbox", "assignee_member__user", "assignee_key")
        .order_by("id")
    )


def lock_messages(thread_pks: Sequence[int]) -> None:
    """Label changes rewrite the threads' messages: locked first, in id order, as
    services.threads.update_labels does (message, then thread), so the two never deadlock."""
    list(
        Message.objects.select_for_update()
        .filter(thread_id__in=thread_pks)
        .order_by("id")
        .values_list("id", flat=True)
    )


def _new_status(thread: Thread, plan: Plan) -> tuple[str, datetime | None]:
    status, until = thread.status, thread.snoozed_until
    if plan.status is not UNSET:
        status = plan.status
    if plan.snoozed_until is not UNSET:
        if plan.snoozed_until is None and plan.status is UNSET:
            if thread.status == ThreadStatus.SNOOZED:
                status = ThreadStatus.OPEN  # snoozedUntil: null wakes a snoozed thread now
        else:
            until = plan.snoozed_until
    if status == ThreadStatus.SNOOZED and until is None:
        raise ValidationFailed.for_field("snoozedUntil", "Snoozing needs a time to wake up.")
    if status != ThreadStatus.SNOOZED:
        until = None  # leaving snoozed clears the time
    return status, until


def _relabel(thread: Thread, plan: Plan) -> dict[str, list[str]] | None:
    """Thread labels are the union of its messages' labels: each message gains the added ones
    and loses the removed ones (added first, so a label named in both ends up removed)."""
    removed = set(plan.remove_labels)
    changed: list[Message] = []
    union: list[str] = []
    now = timezone.now()
    for pk, labels in (
        Message.objects.filter(thread=thread).order_by("id").values_list("pk", "labels")
    ):
        new = [
            label for label in dict.fromkeys([*labels, *plan.add_labels]) if label not in removed
        ]
        if new != labels:
            changed.append(Message(pk=pk, labels=new, updated_at=now))
        union += [label for label in new if label not in union]
    if changed:
        Message.objects.bulk_update(changed, ["labels", "updated_at"])
    before = list(thread.labels)
    if union == before:
        return None
    thread.labels = union
    return {
        "added": [label for label in union if label not in before],
        "removed": [label for label in before if label not in union],
    }


def _timestamp(value: datetime | None) -> str | None:
    return format_timestamp(value) if value else None


def apply_plan(thread: Thread, plan: Plan, *, actor: Actor) -> dict[str, Any]:
    """On a locked thread: check the precondition and the inputs that depend on the thread,
    then write. Returns the changes ({} when nothing changed: no activity, no event)."""
    current = thread_assignee(thread)
    if plan.expected_assignee is not UNSET and identity_of(plan.expected_assignee) != identity_of(
        current
    ):
        raise AssigneeChanged(thread.public_id, assignee_ref(current))
    status, until = _new_status(thread, plan)
    if plan.assignee is not UNSET:
        check_assignee(thread, plan.assignee)

    fields: list[str] = []
    activity: list[tuple[str, dict[str, Any]]] = []
    status_changes: dict[str, Any] = {}
    if status != thread.status:
        status_changes["status"] = {"from": thread.status, "to": status}
    if until != thread.snoozed_until:
        status_changes["snoozedUntil"] = {
            "from": _timestamp(thread.snoozed_until),
            "to": _timestamp(until),
        }
    if status_changes:
        thread.status, thread.snoozed_until = status, until
        fields += ["status", "snoozed_until"]
        activity.append((ThreadActivity.Kind.STATUS, status_changes))
    if plan.assignee is not UNSET and identity_of(plan.assignee) != identity_of(current):
        new = plan.assignee
        thread.assignee_member = new if isinstance(new, Membership) else None
        thread.assignee_key = new if isinstance(new, ApiKey) else None
        fields += ["assignee_member", "assignee_key"]
        activity.append(
            (
                ThreadActivity.Kind.ASSIGNMENT,
                {"assignee": {"from": assignee_ref(current), "to": assignee_ref(new)}},
            )
        )
    if plan.touches_labels:
        labels = _relabel(thread, plan)
        if labels is not None:
            fields.append("labels")
            activity.append((ThreadActivity.Kind.LABELS, {"labels": labels}))
    if not activity:
        return {}
    thread.save(update_fields=[*fields, "updated_at"])
    ThreadActivity.objects.bulk_create(
        ThreadActivity(
            organization_id=thread.organization_id,
            thread=thread,
            kind=kind,
            actor=dict(actor),
            changes=changes,
        )
        for kind, changes in activity
    )
    changes = {key: value for _, kind_changes in activity for key, value in kind_changes.items()}
    _record_updated(thread, changes=changes, actor=actor)
    return changes


def _record_updated(thread: Thread, *, changes: dict[str, Any], actor: Actor) -> None:
    ids = list(
        Message.objects.filter(thread=thread)
        .exclude(status=Message.Status.DRAFT)
        .order_by("id")
        .values_list("public_id", flat=True)
    )
    payload = thread_payload(thread, message_ids=ids)
    payload["changes"] = changes
    payload["actor"] = dict(actor)
    record_event(
        thread.organization,
        event_type=EventType.THREAD_UPDATED,
        payload=payload,
        inbox_id=thread.inbox.public_id,
    )
