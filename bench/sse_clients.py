"""Many SSE clients in one cheap process: raw asyncio sockets (uvloop when installed), HTTP/1.1
with chunked bodies, an EventSource-like parser. Used by bench/stream.py and
reliability/stream_redis_restart.py; never part of the test run.

    python bench/sse_clients.py CONFIG.json

CONFIG: {"host", "port", "streams": [{"path", "headers": {...}, "tag"}], "batch": 50,
"reconnect": false, "keep_data": false}. Each stream is one connection; `tag` groups streams
that should receive the same events (e.g. one organization). With "reconnect", a stream that is
cut reconnects like EventSource: the same path (its ?after= included), `Last-Event-ID` set to the
last id it received, after the server's `retry:` delay; a refused one (429, 503) retries the
same way (where EventSource would give up: an agent's client retries).

Talks over stdio, one JSON object per line. Prints {"connected": n, "refused": {...}} once every
stream has had its first answer. Then reads commands on stdin:
  {"cmd": "report", "commits": FILE, "expected": FILE, "out": FILE, "wait": seconds, "worst": bool}
      waits (up to `wait` s) until each stream holds the last expected id of its tag, then writes
      the evaluation to `out` (and every delivery's latency, float32 ms, to `out` + ".lat"),
      and prints {"reported": out}. commits: {event id: commit time (time.time())}; expected:
      {tag: [event ids in feed order]}.
  {"cmd": "frames", "out": FILE}   every frame received (keep_data), for a few-stream run
  {"cmd": "cpu"}                   prints {"cpu": seconds of CPU this process used so far}
  {"cmd": "close"}                 closes every connection and exits
Receipt time is taken once per socket read (time.time(), the same clock as the writer's commit
stamps on this machine).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from array import array
from pathlib import Path
from typing import Any

IDS: dict[bytes, int] = {}  # event id -> small int, so a delivery costs 12 bytes, not a string
NAMES: list[bytes] = []
TASKS: set[asyncio.Task] = set()


def intern_id(event_id: bytes) -> int:
    index = IDS.get(event_id)
    if index is None:
        index = IDS[event_id] = len(NAMES)
        NAMES.append(event_id)
    return index


class Stream(asyncio.Protocol):
    """One SSE connection (and, with reconnect, its successors)."""

    def __init__(self, config: dict[str, Any], spec: dict[str, Any]) -> None:
        self.host, self.port = config["host"], config["port"]
        self.path, self.extra_headers, self.tag = spec["path"], spec.get("headers", {}), spec["tag"]
        self.reconnect, self.keep_data = config.get("reconnect", False), config.get("keep_data")
        self.received, self.times = array("i"), array("d")
        self.frames: list[tuple[float, str, str, str]] = []
        self.last_id: bytes | None = None
        self.retry = 3.0
        self.connections = 0
        self.cuts = 0  # streams that were open (200) and ended
        self.refusals: dict[str, int] = {}
        self.first_answer: asyncio.Future[int] | None = None
        self.closing = False
        self.transport: asyncio.Transport | None = None
        self._reset()

    def _reset(self) -> None:
        self.head: bytearray | None = bytearray()
        self.status = 0
        self.chunked = False
        self.raw = b""  # an incomplete chunk-size line
        self.left = 0  # bytes left in the current chunk
        self.skip = 0  # CRLF after a chunk still to skip
        self.buf = b""  # an incomplete SSE frame
        self.error_body = b""
        self.length: int | None = None  # Content-Length of a refusal
        self.ended = False  # the server finished the response

    async def open(self) -> int:
        """Connects; returns the first answer's status (0: connection refused)."""
        loop = asyncio.get_running_loop()
        self.first_answer = loop.create_future()
        self._connect()
        return await self.first_answer

    def _connect(self) -> None:
        loop = asyncio.get_running_loop()

        async def go() -> None:
            try:
                await loop.create_connection(lambda: self, self.host, self.port)
            except OSError:
                self._answered(0)
                self._again()

        task = loop.create_task(go())
        TASKS.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(TASKS.discard)

    def _answered(self, status: int) -> None:
        if self.first_answer is not None and not self.first_answer.done():
            self.first_answer.set_result(status)

    def _again(self) -> None:
        if self.reconnect and not self.closing:
            asyncio.get_running_loop().call_later(self.retry, self._connect)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.connections += 1
        self._reset()
        headers = {"Host": f"{self.host}:{self.port}", "Accept": "text/event-stream"}
        headers.update(self.extra_headers)
        if self.last_id is not None:
            headers["Last-Event-ID"] = self.last_id.decode()
        request = f"GET {self.path} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers.items()
        )
        self.transport.write((request + "\r\n").encode())

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.status != 200:
            key = str(self.status)
            self.refusals[key] = self.refusals.get(key, 0) + 1
        elif not self.closing:
            self.cuts += 1
        self._answered(self.status)
        self._again()

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if self.head is not None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.head[:end]).decode("latin-1").split("\r\n")
            self.status = int(lines[0].split()[1])
            headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
            self.chunked = headers.get("transfer-encoding") == "chunked"
            if "content-length" in headers:
                self.length = int(headers["content-length"])
            data = bytes(self.head[end + 4 :])
            self.head = None
            if self.status == 200:
                self._answered(200)
        body = self._dechunk(data) if self.chunked else data
        if self.status != 200:
            self.error_body = (self.error_body + body)[:2000]
            if self.length is not None and len(self.error_body) >= min(self.length, 2000):
                self.ended = True
        elif body:
            self._frames(body, now)
        if self.ended and self.transport is not None:
            self.transport.close()  # a response that ended is a stream cut: reconnect

    def _dechunk(self, data: bytes) -> bytes:
        raw = self.raw + data if self.raw else data
        out = []
        pos, end = 0, len(raw)
        while pos < end:
            if self.left:
                take = min(self.left, end - pos)
                out.append(raw[pos : pos + take])
                pos += take
                self.left -= take
                if not self.left:
                    self.skip = 2
            elif self.skip:
                step = min(self.skip, end - pos)
                pos += step
                self.skip -= step
            else:
                eol = raw.find(b"\r\n", pos)
                if eol < 0:
                    break
                size = int(raw[pos:eol].split(b";")[0], 16)
                pos = eol + 2
                if size == 0:  # the server ended the response
                    self.ended = True
                    pos = end
                    break
                self.left = size
        self.raw = raw[pos:]
        return b"".join(out)

    def _frames(self, body: bytes, now: float) -> None:
        # The server writes "\n" line endings (CONTRACT16 section 2); a frame ends at a blank line.
        buf = self.buf + body if self.buf else body
        frames = buf.split(b"\n\n")
        self.buf = frames.pop()
        for frame in frames:
            if not self.keep_data and frame[:4] == b"id: " and b"\ndata:" in frame:
                # The server's own frame (id, event, data lines): only the id matters here.
                self.last_id = event_id = frame[4 : frame.find(b"\n")]
                self.received.append(intern_id(event_id))
                self.times.append(now)
                continue
            event_id = None
            event_type, data = b"message", []
            for line in frame.split(b"\n"):
                if line.startswith(b"id:"):
                    event_id = line[4:] if line[3:4] == b" " else line[3:]
                elif line.startswith(b"data:"):
                    data.append(line[6:] if line[5:6] == b" " else line[5:])
                elif line.startswith(b"event:"):
                    event_type = line[7:] if line[6:7] == b" " else line[6:]
                elif line.startswith(b"retry:"):
                    self.retry = int(line[6:].strip() or 3000) / 1000
            if event_id is not None:
                self.last_id = event_id
            if event_id is None or not data:
                continue  # heartbeats, retry lines
            self.received.append(intern_id(event_id))
            self.times.append(now)
            if self.keep_data:
                self.frames.append(
                    (now, event_id.decode(), event_type.decode(), b"\n".join(data).decode())
                )


def evaluate(streams: list[Stream], command: dict[str, Any]) -> dict[str, Any]:
    commits = json.loads(Path(command["commits"]).read_text())
    expected = json.loads(Path(command["expected"]).read_text())
    commit_of = {IDS[key.encode()]: value for key, value in commits.items() if key.encode() in IDS}
    latencies = array("f")
    worst: dict[int, float] = {}
    summary = {
        "streams": len(streams),
        "deliveries": 0,
        "expected_deliveries": 0,
        "missing": 0,
        "duplicated": 0,
        "stray": 0,
        "out_of_order_streams": 0,
        "streams_with_loss": 0,
        "connections": sum(stream.connections for stream in streams),
        "cuts": 0,
        "refusals": {},
    }
    for stream in streams:
        for status, count in stream.refusals.items():
            summary["refusals"][status] = summary["refusals"].get(status, 0) + count
        want = [intern_id(key.encode()) for key in expected.get(str(stream.tag), [])]
        wanted = set(want)
        got = list(stream.received)
        summary["deliveries"] += len(got)
        summary["expected_deliveries"] += len(want)
        unique = set(got)
        missing = len(wanted - unique)
        summary["missing"] += missing
        summary["streams_with_loss"] += bool(missing)
        summary["duplicated"] += len(got) - len(unique)
        summary["stray"] += len(unique - wanted)
        seen: set[int] = set()
        firsts = [i for i in got if i in wanted and not (i in seen or seen.add(i))]  # type: ignore[func-returns-value]
        if firsts != [i for i in want if i in unique]:
            summary["out_of_order_streams"] += 1
        summary["cuts"] += stream.cuts
        first: set[int] = set()
        for index, at in zip(got, stream.times, strict=True):
            committed = commit_of.get(index)
            if committed is not None and index not in first:  # a repeat is not a latency
                first.add(index)
                latency = (at - committed) * 1000
                latencies.append(latency)
                if command.get("worst") and latency > worst.get(index, -1e9):
                    worst[index] = latency
    if command.get("worst"):
        summary["worst_ms"] = {NAMES[index].decode(): value for index, value in worst.items()}
    Path(command["out"] + ".lat").write_bytes(latencies.tobytes())
    return summary


async def main(config_path: str) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    config = json.loads(Path(config_path).read_text())
    streams = [Stream(config, spec) for spec in config["streams"]]
    batch = config.get("batch", 50)
    statuses: dict[str, int] = {}
    for start in range(0, len(streams), batch):
        for status in await asyncio.gather(*(s.open() for s in streams[start : start + batch])):
            statuses[str(status)] = statuses.get(str(status), 0) + 1
    emit({"connected": statuses.get("200", 0), "answers": statuses})
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        command = json.loads(line)
        if command["cmd"] == "close":
            break
        if command["cmd"] == "cpu":
            usage = resource.getrusage(resource.RUSAGE_SELF)
            emit({"cpu": usage.ru_utime + usage.ru_stime})
        elif command["cmd"] == "frames":
            frames = [frame for stream in streams for frame in stream.frames]
            Path(command["out"]).write_text(json.dumps(frames))
            emit({"written": command["out"]})
        elif command["cmd"] == "report":
            await caught_up(streams, command)
            Path(command["out"]).write_text(json.dumps(evaluate(streams, command)))
            emit({"reported": command["out"]})
    for stream in streams:
        stream.close()
    await asyncio.sleep(0.2)


async def caught_up(streams: list[Stream], command: dict[str, Any]) -> None:
    """Until every stream received the last event expected for its tag (or `wait` is over)."""
    expected = json.loads(Path(command["expected"]).read_text())
    last = {tag: intern_id(ids[-1].encode()) for tag, ids in expected.items() if ids}
    deadline = time.monotonic() + command.get("wait", 10)
    pending = [s for s in streams if str(s.tag) in last]
    while time.monotonic() < deadline:
        pending = [s for s in pending if last[str(s.tag)] not in s.received]
        if not pending:
            return
        await asyncio.sleep(0.1)


def emit(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(sys.argv[1]))
