"""Driving bench/sse_clients.py processes from a benchmark or fault script: start them, wait for
their streams to be open, ask for the evaluation, merge it, close them."""

from __future__ import annotations

import json
import select
import subprocess
import sys
import tempfile
from array import array
from pathlib import Path
from typing import Any

from bench.processes import stop_group

ROOT = Path(__file__).resolve().parents[1]


class ClientPool:
    """`streams` (dicts: path, headers, tag) spread over `processes` client processes."""

    def __init__(
        self,
        host: str,
        port: int,
        streams: list[dict[str, Any]],
        *,
        processes: int = 1,
        reconnect: bool = False,
        keep_data: bool = False,
        batch: int = 50,
    ) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sendook-sse-"))
        self.processes: list[subprocess.Popen] = []
        for index in range(processes):
            config = self.dir / f"clients-{index}.json"
            config.write_text(
                json.dumps(
                    {
                        "host": host,
                        "port": port,
                        "streams": streams[index::processes],
                        "reconnect": reconnect,
                        "keep_data": keep_data,
                        "batch": batch,
                    }
                )
            )
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, str(ROOT / "bench" / "sse_clients.py"), str(config)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    start_new_session=True,
                )
            )

    def wait_connected(self) -> dict[str, int]:
        """Blocks until every stream had its first answer; returns {status: count}."""
        answers: dict[str, int] = {}
        for process in self.processes:
            line = self._line(process)
            for status, count in line["answers"].items():
                answers[status] = answers.get(status, 0) + count
        return answers

    def report(
        self, commits: dict[str, float], expected: dict[str, list[str]], wait: float, worst: bool
    ) -> tuple[dict[str, Any], list[float]]:
        """Merged evaluation of every process and every delivery's latency (ms, sorted)."""
        commits_file, expected_file = self.dir / "commits.json", self.dir / "expected.json"
        commits_file.write_text(json.dumps(commits))
        expected_file.write_text(json.dumps(expected))
        outs = []
        for index, process in enumerate(self.processes):
            out = self.dir / f"report-{index}.json"
            outs.append(out)
            self._send(
                process,
                {
                    "cmd": "report",
                    "commits": str(commits_file),
                    "expected": str(expected_file),
                    "out": str(out),
                    "wait": wait,
                    "worst": worst,
                },
            )
        merged: dict[str, Any] = {}
        latencies: list[float] = []
        for process, out in zip(self.processes, outs, strict=True):
            self._line(process)
            part = json.loads(out.read_text())
            for key, value in part.items():
                if isinstance(value, dict):
                    into = merged.setdefault(key, {})
                    for k, v in value.items():
                        into[k] = (
                            max(into.get(k, v), v) if key == "worst_ms" else into.get(k, 0) + v
                        )
                else:
                    merged[key] = merged.get(key, 0) + value
            floats = array("f")
            floats.frombytes(Path(str(out) + ".lat").read_bytes())
            latencies.extend(floats)
        latencies.sort()
        return merged, latencies

    def frames(self) -> list[list[Any]]:
        """[time, event id, event type, data] of every frame received (keep_data)."""
        frames: list[list[Any]] = []
        for index, process in enumerate(self.processes):
            out = self.dir / f"frames-{index}.json"
            self._send(process, {"cmd": "frames", "out": str(out)})
            self._line(process)
            frames.extend(json.loads(out.read_text()))
        return frames

    def cpu(self) -> float:
        """CPU seconds all the client processes used so far."""
        total = 0.0
        for process in self.processes:
            self._send(process, {"cmd": "cpu"})
            total += self._line(process)["cpu"]
        return total

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                try:
                    self._send(process, {"cmd": "close"})
                    process.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            stop_group(process, timeout=5)

    def _send(self, process: subprocess.Popen, command: dict[str, Any]) -> None:
        assert process.stdin is not None
        process.stdin.write(json.dumps(command) + "\n")
        process.stdin.flush()

    def _line(self, process: subprocess.Popen, timeout: float = 300) -> dict[str, Any]:
        assert process.stdout is not None
        if not select.select([process.stdout], [], [], timeout)[0]:
            raise RuntimeError(f"an SSE client process said nothing for {timeout} s")
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"an SSE client process exited ({process.wait()})")
        return json.loads(line)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted `values` (0 when empty)."""
    if not values:
        return 0.0
    return values[min(len(values) - 1, max(0, round(fraction * len(values)) - 1))]
