"""Helpers for the live stream tests: a small SSE reader over httpx (it also shows comments,
which httpx-sse's parser drops) and events written straight into the live server's database."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import httpx


@dataclass
class Frame:
    id: str | None = None
    event: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def envelope(self) -> dict:
        return json.loads(self.data or "null")


class Stream:
    """`with Stream(server, key, params={...}) as stream:` an open GET /v1/events/stream."""

    def __init__(self, server, key: str | None, *, params=None, headers=None, read=10.0):
        self.url = server.url + "/v1/events/stream"
        self.headers = dict(headers or {})
        if key:
            self.headers["Authorization"] = f"Bearer {key}"
        self.params = params or {}
        self.client = httpx.Client(timeout=httpx.Timeout(10, read=read))

    def __enter__(self) -> Stream:
        self._cm = self.client.stream("GET", self.url, params=self.params, headers=self.headers)
        self.response = self._cm.__enter__()
        self._lines = self.response.iter_lines()
        return self

    def __exit__(self, *exc) -> None:
        self._cm.__exit__(*exc)
        self.client.close()

    def frame(self) -> Frame:
        frame = Frame()
        for line in self._lines:
            if line == "":
                if frame.comments or frame.id or frame.data is not None or frame.retry:
                    return frame
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "":
                frame.comments.append(value)
            elif name == "data":
                frame.data = value if frame.data is None else frame.data + "\n" + value
            elif name == "retry":
                frame.retry = int(value)
            else:
                setattr(frame, name, value)
        raise EOFError("the server ended the stream")

    def events(self, count: int, *, within: float = 15) -> list[Frame]:
        """The next `count` event frames (comments skipped)."""
        deadline = time.monotonic() + within
        found: list[Frame] = []
        while len(found) < count:
            assert time.monotonic() < deadline, f"only {len(found)} of {count} events arrived"
            frame = self.frame()
            if frame.id:
                found.append(frame)
        return found


def write_events(
    server,
    organization_id: str,
    count: int,
    *,
    event_type: str = "inbox.updated",
    inbox_id: str = "",
    pad: int = 0,
    delay: float = 0,
) -> list[str]:
    """`count` events recorded by another process (manage.py shell) in the server's database,
    as any worker or command would; returns their ids in commit order."""
    code = f"""
import json, time
from django.apps import apps
from sendook.events.services import record_event
org = apps.get_model("inboxes", "Organization").objects.get(public_id={organization_id!r})
ids = []
for n in range({count}):
    event = record_event(org, event_type={event_type!r}, inbox_id={inbox_id!r},
                         payload={{"n": n, "pad": "x" * {pad}}})
    ids.append(event.public_id)
    time.sleep({delay})
print(json.dumps(ids))
"""
    return json.loads(server.manage("shell", "-c", code).strip().splitlines()[-1])


def api(server, key: str, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(
        method, server.url + path, headers={"Authorization": f"Bearer {key}"}, timeout=20, **kwargs
    )
