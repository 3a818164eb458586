"""Public ids: prefixed, time-sortable strings kept apart from the integer primary key."""

from typing import Any

from django.db import models
from ulid import ULID


def new_public_id(prefix: str) -> str:
    return f"{prefix}_{ULID()}"


class PublicIdField(models.CharField):
    """`inbox_01J3ZN9SB2M5MHF5C2QBP4DT78`: a ULID body, so ids sort by creation time.

    The id is assigned when the instance is built (not when saved) because some rows need their
    id before the first write, e.g. a message's RFC Message-ID is derived from it.
    """

    def __init__(self, prefix: str = "", **kwargs: Any) -> None:
        self.prefix = prefix
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("unique", True)
        kwargs.setdefault("editable", False)
        super().__init__(**kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["prefix"] = self.prefix
        for key, default in (("max_length", 40), ("unique", True), ("editable", False)):
            if kwargs.get(key) == default:
                kwargs.pop(key)
        return name, path, args, kwargs

    def has_default(self) -> bool:
        return True

    def get_default(self) -> str:
        return new_public_id(self.prefix)
