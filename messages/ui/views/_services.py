"""TEMPORARY until lead-api merges: the services the helpdesk forms call, loaded on use."""

from importlib import import_module
from typing import Any


class _Lazy:
    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(import_module(self._name), attribute)


triage: Any = _Lazy("messages.services.triage")
note_service: Any = _Lazy("messages.services.notes")
activity_service: Any = _Lazy("messages.services.activity")
