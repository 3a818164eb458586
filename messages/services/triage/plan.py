"""Checking a thread change before any thread is locked: the same checked plan for every thread
of a bulk action."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from messages.models import ThreadStatus
from messages.services.triage.assignees import identity_of
from sendook.api import format_timestamp
from sendook.exceptions import ValidationFailed


class _Unset:
    """A keyword argument not given (None means something: unassign, unsnooze)."""

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()

STATUSES = tuple(ThreadStatus.values)
# The statuses new inbound mail reopens ("pending" waits on someone and stays as it is).
REOPENED_BY_INBOUND = (ThreadStatus.CLOSED, ThreadStatus.SNOOZED)
MAX_LABEL_CHARS = 100
MAX_LABELS = 50
MAX_BULK_THREADS = 200


# --- checking the request ---------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
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


def clean_labels(values: Iterable[Any], field: str) -> tuple[str, ...]:
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


def parse_when(value: Any) -> datetime | None:
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


def make_plan(
    *,
    status: Any,
    snoozed_until: Any,
    assignee: Any,
    expected_assignee: Any,
    add_labels: Iterable[Any],
    remove_labels: Iterable[Any],
    now: datetime,
) -> Plan:
    """Everything that can be checked without the thread: refused before anything is locked."""
    if status is not UNSET and status not in STATUSES:
        raise ValidationFailed.for_field(
            "status", f"Unknown status {status!r}; one of {', '.join(STATUSES)}."
        )
    if snoozed_until is not UNSET:
        snoozed_until = parse_when(snoozed_until)
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
            identity_of(value)  # a TypeError for a caller passing something else
    return Plan(
        status=status,
        snoozed_until=snoozed_until,
        assignee=assignee,
        expected_assignee=expected_assignee,
        add_labels=clean_labels(add_labels, "addLabels"),
        remove_labels=clean_labels(remove_labels, "removeLabels"),
    )
