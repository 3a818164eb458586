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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from inboxes.models import ApiKey, Membership, Organization
from messages.exceptions import AssigneeChanged, InvalidAssignee, ThreadNotFound
from messages.models import Message, Thread, ThreadActivity, ThreadStatus
from messages.payloads import assignee_ref, thread_assignee, thread_payload
from messages.services.provenance import SYSTEM, Actor
from sendook.api import format_timestamp
from sendook.events.models import EventType
from sendook.events.services import record_event
from sendook.exceptions import ValidationFailed


class _Unset:
    """A keyword argument not given (None means something: unassign, unsnooze)."""

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()

Assignee = Membership | ApiKey | None

STATUSES = tuple(ThreadStatus.values)
# The statuses new inbound mail reopens ("pending" waits on someone and stays as it is).
REOPENED_BY_INBOUND = (ThreadStatus.CLOSED, ThreadStatus.SNOOZED)
MAX_LABEL_CHARS = 100
MAX_LABELS = 50
MAX_BULK_THREADS = 200


# --- assignees --------------------------------------------------------------------------------


def resolve_assignee(
    organization: Organization, ref: Mapping[str, Any] | None, *, field: str = "assignee"
) -> Assignee:
    """`{"type": "user"|"api_key", "id"}` (or None: nobody) as the organization's Membership or
    live ApiKey. Another organization's member or key, an unknown id and a revoked key are all
    `invalid_assignee` (400) naming `field`."""
    if ref is None:
        return None
    if not isinstance(ref, Mapping):
        raise InvalidAssignee('Must be {"type": "user"|"api_key", "id": "…"} or null.', field=field)
    kind, ident = ref.get("type"), ref.get("id")
    if kind not in ("user", "api_key"):
        raise InvalidAssignee(f"type must be user or api_key, not {kind!r}.", field=field)
    if not isinstance(ident, str) or not ident:
        raise InvalidAssignee("id must be a member id (user_…) or a key id (key_…).", field=field)
    if kind == "user":
        member = (
            Membership.objects.select_related("user")
            .filter(organization=organization, public_id=ident)
            .first()
        )
        if member is None:
            raise InvalidAssignee(f"{ident} is not a member of this organization.", field=field)
        return member
    key = ApiKey.objects.filter(organization=organization, public_id=ident).first()
    if key is None:
        raise InvalidAssignee(f"{ident} is not an API key of this organization.", field=field)
    if key.revoked_at is not None:
        raise InvalidAssignee(f"API key {ident} is revoked.", field=field)
    return key


def _identity(assignee: Any) -> tuple[str, str] | None:
    """What two assignees are compared by: a Membership, an ApiKey or a {type, id} mapping."""
    if assignee is None:
        return None
    if isinstance(assignee, Mapping):
        return (str(assignee.get("type")), str(assignee.get("id")))
    if isinstance(assignee, ApiKey):
        return ("api_key", assignee.public_id)
    if isinstance(assignee, Membership):
        return ("user", assignee.public_id)
    raise TypeError(f"not an assignee: {assignee!r}")


def _check_assignee(thread: Thread, assignee: Assignee) -> None:
    """An assignee given as a model (the staff UI resolves its own) is held to the same rules
    as an id: the thread's organization, a live key, a key that sees the thread's inbox."""
    if assignee is None:
        return
    if assignee.organization_id != thread.organization_id:
        raise InvalidAssignee("Not a member or an API key of this organization.")
    if isinstance(assignee, ApiKey):
        if assignee.revoked_at is not None:
            raise InvalidAssignee(f"API key {assignee.public_id} is revoked.")
        if assignee.inbox_ids is not None and thread.inbox.public_id not in assignee.inbox_ids:
            raise InvalidAssignee(
                f"API key {assignee.public_id} cannot see inbox {thread.inbox.public_id}."
            )


# --- checking the request ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """A checked request, the same for every thread of a bulk action."""

    status: Any
    snoozed_until: Any
    assignee: Any
    expected_assignee: Any
    add_labels: tuple[str, ...]
    remove_labels: tuple[str, ...]

    @property
    def touches_labels(self) -> bool:
        return bool(self.add_labels or self.remove_labels)


def _labels(values: Iterable[Any], field: str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = [values]
    cleaned: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise ValidationFailed.for_field(field, "Labels are strings.")
        label = value.strip()
        if not label:
            continue
        if len(label) > MAX_LABEL_CHARS:
            raise ValidationFailed.for_field(
                field, f"A label is at most {MAX_LABEL_CHARS} characters ({label[:20]}… is longer)."
            )
        if any(ord(char) < 32 or ord(char) == 127 for char in label):
            raise ValidationFailed.for_field(field, f"{label!r} contains control characters.")
        if label not in cleaned:
            cleaned.append(label)
    if len(cleaned) > MAX_LABELS:
        raise ValidationFailed.for_field(field, f"At most {MAX_LABELS} labels at once.")
    return tuple(cleaned)


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            moment = None
        if moment is None:
            raise ValidationFailed.for_field(
                "snoozedUntil", f"{value!r} is not an ISO 8601 date-time."
            )
    else:
        raise ValidationFailed.for_field("snoozedUntil", "Must be an ISO 8601 date-time or null.")
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _plan(
    *,
    status: Any,
    snoozed_until: Any,
    assignee: Any,
    expected_assignee: Any,
    add_labels: Iterable[Any],
    remove_labels: Iterable[Any],
    now: datetime,
) -> _Plan:
    """Everything that can be checked without the thread: refused before anything is locked."""
    if status is not UNSET and status not in STATUSES:
        raise ValidationFailed.for_field(
            "status", f"Unknown status {status!r}; one of {', '.join(STATUSES)}."
        )
    if snoozed_until is not UNSET:
        snoozed_until = _when(snoozed_until)
        if snoozed_until is not None:
            if snoozed_until <= now:
                raise ValidationFailed.for_field(
                    "snoozedUntil",
                    f"{format_timestamp(snoozed_until)} is not in the future "
                    f"(it is {format_timestamp(now)} now).",
                )
            if status is UNSET:
                status = ThreadStatus.SNOOZED  # a snooze time alone snoozes
            elif status != ThreadStatus.SNOOZED:
                raise ValidationFailed.for_field(
                    "snoozedUntil", f"Only a snoozed thread has a snooze time, not a {status} one."
                )
        elif status == ThreadStatus.SNOOZED:
            raise ValidationFailed.for_field("snoozedUntil", "Snoozing needs a time to wake up.")
    for value in (assignee, expected_assignee):
        if value is not UNSET:
            _identity(value)  # a TypeError for a caller passing something else
    return _Plan(
        status=status,
        snoozed_until=snoozed_until,
        assignee=assignee,
        expected_assignee=expected_assignee,
        add_labels=_labels(add_labels, "addLabels"),
        remove_labels=_labels(remove_labels, "removeLabels"),
    )


# --- applying it ------------------------------------------------------------------------------


def _locked(rows: QuerySet[Thread]) -> list[Thread]:
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


def _lock_messages(thread_pks: Sequence[int]) -> None:
    """Label changes rewrite the threads' messages: locked first, in id order, as
    services.threads.update_labels does (message, then thread), so the two never deadlock."""
    list(
        Message.objects.select_for_update()
        .filter(thread_id__in=thread_pks)
        .order_by("id")
        .values_list("id", flat=True)
    )


def _new_status(thread: Thread, plan: _Plan) -> tuple[str, datetime | None]:
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


def _relabel(thread: Thread, plan: _Plan) -> dict[str, list[str]] | None:
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


def _apply(thread: Thread, plan: _Plan, *, actor: Actor) -> dict[str, Any]:
    """On a locked thread: check the precondition and the inputs that depend on the thread,
    then write. Returns the changes ({} when nothing changed: no activity, no event)."""
    current = thread_assignee(thread)
    if plan.expected_assignee is not UNSET and _identity(plan.expected_assignee) != _identity(
        current
    ):
        raise AssigneeChanged(thread.public_id, assignee_ref(current))
    status, until = _new_status(thread, plan)
    if plan.assignee is not UNSET:
        _check_assignee(thread, plan.assignee)

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
    if plan.assignee is not UNSET and _identity(plan.assignee) != _identity(current):
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
    plan = _plan(
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
            _lock_messages([thread.pk])
        (locked,) = _locked(Thread.objects.filter(pk=thread.pk))
        _apply(locked, plan, actor=actor)
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
    plan = _plan(
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
            _lock_messages(list(rows.values_list("pk", flat=True)))
        found = {thread.public_id: thread for thread in _locked(rows)}
        missing = [value for value in ids if value not in found]
        if missing:
            raise ThreadNotFound(
                f"Thread not found: {', '.join(missing)}; nothing was changed",
                extra={"threadIds": missing},
            )
        for thread in sorted(found.values(), key=lambda row: row.pk):
            _apply(thread, plan, actor=actor)
    return [found[value] for value in ids]


def reopen_on_inbound(thread: Thread, *, actor: Actor) -> Thread:
    """New mail joined `thread`: a closed or snoozed thread is open again (its assignee kept,
    so it is back in their Mine). Called inside the transaction storing the message."""
    if thread.status not in REOPENED_BY_INBOUND:
        return thread
    with transaction.atomic():
        (locked,) = _locked(Thread.objects.filter(pk=thread.pk))
        if locked.status in REOPENED_BY_INBOUND:
            _apply(locked, _open_plan(), actor=actor)
    thread.status, thread.snoozed_until = locked.status, locked.snoozed_until
    return locked


def _open_plan() -> _Plan:
    return _Plan(
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
        for thread in _locked(Thread.objects.filter(pk__in=list(claimed))):
            if thread.status != ThreadStatus.SNOOZED:
                continue  # woken meanwhile (SQLite, which has no row locks)
            _apply(thread, _open_plan(), actor=SYSTEM)
            woken += 1
    return woken
