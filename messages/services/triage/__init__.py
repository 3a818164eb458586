"""Working a conversation: a thread's status (open, pending, closed, snoozed until a time), its
assignee (a member of the organization or one of its API keys) and its labels.

Every change goes through `update_thread` (one thread) or `update_threads` (a bulk action,
all or nothing): the input is checked first, then the thread is locked and the caller's
precondition (`expected_assignee`, the assignee they saw) checked against it, and only then is
anything written: the thread, one ThreadActivity row per kind of change (status, assignment,
labels) and one `thread.updated` event whose payload is the Thread object plus `changes` (what
changed, from/to) and `actor`. Two people assigning the same thread with the same expectation:
the second finds the thread locked, then changed, and gets 409 `assignee_changed`.

New inbound mail reopens a closed or snoozed thread (`reopen_on_inbound`, called by
services/receive.py in the transaction that stores the message); the sweep
`wake_snoozed_threads` reopens snoozed threads whose time has come.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from inboxes.models import Organization
from messages.exceptions import ThreadNotFound
from messages.models import Thread, ThreadStatus
from messages.services.provenance import SYSTEM, Actor
from messages.services.triage.apply import apply_plan, lock_messages, lock_threads
from messages.services.triage.assignees import Assignee, resolve_assignee
from messages.services.triage.plan import (
    MAX_BULK_THREADS,
    MAX_LABEL_CHARS,
    MAX_LABELS,
    REOPENED_BY_INBOUND,
    STATUSES,
    UNSET,
    Plan,
    make_plan,
)
from sendook.exceptions import ValidationFailed

__all__ = [
    "MAX_BULK_THREADS",
    "MAX_LABELS",
    "MAX_LABEL_CHARS",
    "REOPENED_BY_INBOUND",
    "STATUSES",
    "UNSET",
    "Assignee",
    "reopen_on_inbound",
    "resolve_assignee",
    "update_thread",
    "update_threads",
    "wake_snoozed_threads",
]


# --- the services -----------------------------------------------------------------------------


def update_thread(
    thread: Thread,
    *,
    actor: Actor,
    status: Any = UNSET,
    snoozed_until: Any = UNSET,
    assignee: Any = UNSET,
    expected_assignee: Any = UNSET,
    add_labels: Iterable[str] = (),
    remove_labels: Iterable[str] = (),
) -> Thread:
    """Change a thread's status, snooze time, assignee and labels in one transaction.

    `status`: open, pending, closed or snoozed (anything else: 400 naming `status`).
    `snoozed_until`: a future datetime (past: 400 naming `snoozedUntil`); alone it snoozes;
    None wakes a snoozed thread; leaving snoozed clears it. `assignee`: None (unassign), a
    Membership or an ApiKey of the thread's organization (see resolve_assignee).
    `expected_assignee`: the assignee the caller saw (None, a Membership, an ApiKey or a
    {type, id} mapping); someone else → 409 `assignee_changed` naming the current one, and
    nothing is changed. Returns the thread as it is now (with its relations loaded).
    """
    plan = make_plan(
        status=status,
        snoozed_until=snoozed_until,
        assignee=assignee,
        expected_assignee=expected_assignee,
        add_labels=add_labels,
        remove_labels=remove_labels,
        now=timezone.now(),
    )
    with transaction.atomic():
        if plan.touches_labels:
            lock_messages([thread.pk])
        (locked,) = lock_threads(Thread.objects.filter(pk=thread.pk))
        apply_plan(locked, plan, actor=actor)
    return locked


def update_threads(
    organization: Organization,
    thread_public_ids: Sequence[str],
    *,
    actor: Actor,
    inbox_ids: Iterable[str] | None = None,
    **changes: Any,
) -> list[Thread]:
    """A bulk action: the same change (update_thread's keyword arguments) to every thread of
    `thread_public_ids`, all or nothing. An id that is not one of the organization's threads
    (or, with `inbox_ids`, of those inboxes) → 404 naming it, and nothing is changed; so does
    any thread failing its precondition or a check. Returns the threads in the order given."""
    if isinstance(thread_public_ids, str) or not all(
        isinstance(value, str) for value in thread_public_ids
    ):
        raise ValidationFailed.for_field("threadIds", "Must be a list of thread ids.")
    ids = list(dict.fromkeys(thread_public_ids))
    if not ids:
        raise ValidationFailed.for_field("threadIds", "Name at least one thread.")
    if len(ids) > MAX_BULK_THREADS:
        raise ValidationFailed.for_field(
            "threadIds", f"At most {MAX_BULK_THREADS} threads at once ({len(ids)} given)."
        )
    plan = make_plan(
        status=changes.pop("status", UNSET),
        snoozed_until=changes.pop("snoozed_until", UNSET),
        assignee=changes.pop("assignee", UNSET),
        expected_assignee=changes.pop("expected_assignee", UNSET),
        add_labels=changes.pop("add_labels", ()),
        remove_labels=changes.pop("remove_labels", ()),
        now=timezone.now(),
    )
    if changes:
        raise TypeError(f"update_threads() got unexpected arguments {sorted(changes)}")
    rows = Thread.objects.filter(organization=organization, public_id__in=ids)
    if inbox_ids is not None:
        rows = rows.filter(inbox__public_id__in=list(inbox_ids))
    with transaction.atomic():
        if plan.touches_labels:
            lock_messages(list(rows.values_list("pk", flat=True)))
        found = {thread.public_id: thread for thread in lock_threads(rows)}
        missing = [value for value in ids if value not in found]
        if missing:
            raise ThreadNotFound(
                f"Thread not found: {', '.join(missing)}; nothing was changed",
                extra={"threadIds": missing},
            )
        for thread in sorted(found.values(), key=lambda row: row.pk):
            apply_plan(thread, plan, actor=actor)
    return [found[value] for value in ids]


def reopen_on_inbound(thread: Thread, *, actor: Actor) -> Thread:
    """New mail joined `thread`: a closed or snoozed thread is open again (its assignee kept,
    so it is back in their Mine). Called inside the transaction storing the message."""
    if thread.status not in REOPENED_BY_INBOUND:
        return thread
    with transaction.atomic():
        (locked,) = lock_threads(Thread.objects.filter(pk=thread.pk))
        if locked.status in REOPENED_BY_INBOUND:
            apply_plan(locked, _open_plan(), actor=actor)
    thread.status, thread.snoozed_until = locked.status, locked.snoozed_until
    return locked


def _open_plan() -> Plan:
    return Plan(
        status=ThreadStatus.OPEN,
        snoozed_until=UNSET,
        assignee=UNSET,
        expected_assignee=UNSET,
        add_labels=(),
        remove_labels=(),
    )


def wake_snoozed_threads(now: datetime | None = None, *, limit: int = 500) -> int:
    """The sweep: snoozed threads whose time has passed are open again (actor: system).
    Rows are claimed FOR UPDATE SKIP LOCKED, so two sweeps take different threads, and a
    thread someone is changing at that moment is left for the next run."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = (
            Thread.objects.select_for_update(skip_locked=True)
            .filter(status=ThreadStatus.SNOOZED, snoozed_until__lte=now)
            .order_by("snoozed_until", "id")
            .values_list("pk", flat=True)[:limit]
        )
        woken = 0
        for thread in lock_threads(Thread.objects.filter(pk__in=list(claimed))):
            if thread.status != ThreadStatus.SNOOZED:
                continue  # woken meanwhile (SQLite, which has no row locks)
            apply_plan(thread, _open_plan(), actor=SYSTEM)
            woken += 1
    return woken
