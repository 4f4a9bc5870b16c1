"""A small HTTP/1.1 load generator: keep-alive connections, prepared requests, run in its own process.

    python -m bench.loadgen PLAN.json RESULT.json

The plan holds the server (`host`, `port`), `concurrency` (connections, each one client sending a request and
waiting for its answer before the next), `requests`: `{"method", "path", "headers", "body"}`, and optionally
`keep_bodies` (keep the bodies of answers that were not 2xx) and `timeout` (seconds per request). Every
request is encoded once before the clock starts; the connections are opened first, so a run measures only
requests.
A request is sent once, never retried: a dropped connection is recorded as status 0 with its error.

The result lists, per request in plan order, `[status, seconds, replayed, error]` (`replayed`: the answer
carried `Idempotent-Replayed: true`), with the run's wall time and the generator's own CPU seconds, so a
benchmark can tell whether the client or the server was the limit.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: Largest response header block read (the app's headers are a few hundred bytes).
HEADER_LIMIT = 64 * 1024


def encode(host: str, port: int, request: dict[str, Any]) -> bytes:
    """The request as bytes on the wire (Content-Length set, keep-alive)."""
    body = request.get("body", "")
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    lines = [f"{request['method']} {request['path']} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in request.get("headers", {}).items()]
    lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks = bytearray()
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            chunks += await reader.readexactly(size + 2)
            del chunks[-2:]
        await reader.readuntil(b"\r\n")
        return int(status_line.split(" ", 2)[1]), headers, bytes(chunks)
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return int(status_line.split(" ", 2)[1]), headers, body


class _Connection:
    """One keep-alive connection, reopened when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def open(self) -> None:
        self.streams = await asyncio.open_connection(self.host, self.port, limit=HEADER_LIMIT)

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None

    async def send(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.streams is None:
            await self.open()
        assert self.streams is not None
        reader, writer = self.streams
        try:
            writer.write(raw)
            await writer.drain()
            status, headers, body = await _read_response(reader)
        except BaseException:
            self.close()
            raise
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body


async def run_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """Send every request of the plan over `concurrency` connections; the results in plan order.

    An entry of `requests` may also be a list of requests: a sequence one connection sends in order (a
    tablet autosaving, then submitting); its results take their places in the flat list of results.
    """
    host, port = plan.get("host", "127.0.0.1"), int(plan["port"])
    jobs: list[list[bytes]] = []
    for entry in plan["requests"]:
        sequence = entry if isinstance(entry, list) else [entry]
        jobs.append([encode(host, port, request) for request in sequence])
    offsets = [0]
    for job in jobs:
        offsets.append(offsets[-1] + len(job))
    results: list[list[Any]] = [[0, 0.0, False, "not sent"] for _ in range(offsets[-1])]
    connections = [_Connection(host, port) for _ in range(int(plan["concurrency"]))]
    await asyncio.gather(*(connection.open() for connection in connections))
    queue = iter(range(len(jobs)))
    timeout = float(plan.get("timeout", 60))
    bodies: list[str] = []  # of the answers that were not 2xx, when the plan asks to keep them

    async def client(connection: _Connection) -> None:
        for job in queue:
            for position, raw in enumerate(jobs[job], offsets[job]):
                started = time.perf_counter()
                try:
                    status, headers, body = await asyncio.wait_for(connection.send(raw), timeout)
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as error:
                    results[position] = [0, time.perf_counter() - started, False, repr(error)[:200]]
                    continue
                replayed = headers.get("idempotent-replayed") == "true"
                if plan.get("keep_bodies") and not 200 <= status < 300:
                    bodies.append(body.decode("utf-8", "replace"))
                results[position] = [status, time.perf_counter() - started, replayed, None]
        connection.close()

    usage = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    await asyncio.gather(*(client(connection) for connection in connections))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime)
    return {"wall_s": wall, "client_cpu_s": cpu, "results": results, "bodies": bodies}


def run_separately(plan: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Run a plan in a process of its own (so the generator never competes with its caller for the GIL)."""
    plan_file, result_file = folder / "loadgen-plan.json", folder / "loadgen-result.json"
    plan_file.write_text(json.dumps(plan))
    subprocess.run([sys.executable, "-m", "bench.loadgen", str(plan_file), str(result_file)], check=True,
                   cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    result: dict[str, Any] = json.loads(result_file.read_text())
    return result


def main(argv: list[str]) -> int:
    """Read the plan, run it, write the result."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    plan = json.loads(Path(argv[0]).read_text())
    Path(argv[1]).write_text(json.dumps(asyncio.run(run_plan(plan))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
