"""Helpers for the live stream tests: a small SSE reader over httpx (it also shows comments,
which httpx-sse's parser drops) and events written straight into the live server's database."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

# Not imported from sendook.tests (the kernel's tests would then import each other in a circle).
ROOT = Path(__file__).resolve().parents[3]


@dataclass
class LiveOrg:
    id: str
    api_key: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


_WRITER = """
import io, json, sys, time
from django.apps import apps
from django.core.management import call_command
from sendook.events.services import record_event
Organization = apps.get_model("inboxes", "Organization")
print("\\nready", flush=True)
for line in sys.stdin:
    order = json.loads(line)
    if order["do"] == "org":
        out = io.StringIO()
        call_command("createorg", order["name"], "--json", stdout=out)
        print(out.getvalue().strip(), flush=True)
        continue
    org = Organization.objects.get(public_id=order["org"])
    ids = []
    for n in range(order["count"]):
        event = record_event(org, event_type=order["type"], inbox_id=order["inbox"],
                             payload={"n": n, "pad": "x" * order["pad"]})
        ids.append(event.public_id)
        time.sleep(order["delay"])
    print(json.dumps(ids), flush=True)
"""


class EventWriter:
    """A process beside the server that records events in its database, as a worker or a
    management command does (its commits reach the server through the fan-out: Redis when the
    server has it, else polling). One long-lived `manage.py shell`, so a write costs
    milliseconds rather than a Django start-up."""

    def __init__(self, server, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "shell", "-c", _WRITER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env or server.env,
            cwd=ROOT,
            text=True,
        )
        while self._answer() != "ready":  # the shell may say something first
            pass

    def _answer(self) -> str:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the event writer died (see the test's stderr)")
        return line.strip()

    def _ask(self, order: dict):
        self.process.stdin.write(json.dumps(order) + "\n")
        self.process.stdin.flush()
        return json.loads(self._answer())

    def new_org(self) -> LiveOrg:
        made = self._ask({"do": "org", "name": f"Live {secrets.token_hex(3)}"})
        return LiveOrg(id=made["organizationId"], api_key=made["apiKey"])

    def events(
        self,
        organization_id: str,
        count: int,
        *,
        event_type: str = "inbox.updated",
        inbox_id: str = "",
        pad: int = 0,
        delay: float = 0,
    ) -> list[str]:
        """Records `count` events; returns their ids in commit order."""
        order = {"do": "events", "org": organization_id, "count": count, "type": event_type}
        return self._ask({**order, "inbox": inbox_id, "pad": pad, "delay": delay})

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def api(server, key: str, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(
        method, server.url + path, headers={"Authorization": f"Bearer {key}"}, timeout=20, **kwargs
    )


@contextmanager
def server_env(server, overrides: dict[str, str]):
    """The live server restarted with `overrides` in its environment, then as it was."""
    saved = dict(server.base_env)
    server.base_env.update(overrides)
    server.restart(kill=False)
    try:
        yield server
    finally:
        server.base_env.clear()
        server.base_env.update(saved)
        server.restart(kill=False)
