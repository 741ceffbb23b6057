"""A bounded loopback load check of the simulator: requests/s for JSON answers and for streams.

    python -m llm_gateway.simulator.loadcheck                  # spawns a simulator pinned to CPU 1
    python -m llm_gateway.simulator.loadcheck --url http://127.0.0.1:8090 --seconds 3

Without ``--url`` it starts its own simulator (zero latency, ``--words`` tokens per answer, no
faults) pinned to ``--server-cpu`` and runs the client pinned to ``--client-cpu``. The client is
a raw asyncio/httptools keep-alive client (one request in flight per connection), so it costs
little CPU; each run stops at ``--seconds`` or ``--max-requests``, whichever comes first.

Besides the achieved rate it reports the server's CPU time per request (from
``/_simulator/health``), hence the rate one server core could sustain when the client is the
bottleneck. Only 127.0.0.1 targets are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools
import orjson

_DONE_TAIL = b"data: [DONE]\n\n"


@dataclass(slots=True)
class _Stats:
    deadline: float
    budget: int
    sent: int = 0
    ok: int = 0
    errors: int = 0
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    open: int = 0


class _LoadConnection(asyncio.Protocol):
    """Sends the same request again each time the previous answer is complete."""

    def __init__(self, request: bytes, stream: bool, stats: _Stats) -> None:
        self._request = request
        self._stream = stream
        self._stats = stats
        self._parser = httptools.HttpResponseParser(self)
        self._tail = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._stats.open += 1
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stats.open -= 1
        if self._stats.open == 0:
            self._stats.finished.set()

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._stats.errors += 1
            self._close()

    def on_body(self, body: bytes) -> None:
        self._tail = (self._tail + body)[-len(_DONE_TAIL) :]

    def on_message_complete(self) -> None:
        good = self._parser.get_status_code() == 200
        if self._stream:
            good = good and self._tail == _DONE_TAIL
        if good:
            self._stats.ok += 1
        else:
            self._stats.errors += 1
        self._tail = b""
        self._send()

    def _send(self) -> None:
        stats = self._stats
        if stats.sent >= stats.budget or time.monotonic() >= stats.deadline:
            self._close()
            return
        stats.sent += 1
        assert self._transport is not None
        self._transport.write(self._request)

    def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _request_bytes(path: str, stream: bool) -> bytes:
    body = orjson.dumps(
        {
            "model": "bench/model",
            "stream": stream,
            "messages": [{"role": "user", "content": "Benchmark prompt: say something."}],
        }
    )
    head = (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        f"authorization: Bearer loadcheck\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _run(host: str, port: int, path: str, stream: bool, args: argparse.Namespace) -> _Stats:
    stats = _Stats(deadline=time.monotonic() + args.seconds, budget=args.max_requests)
    loop = asyncio.get_running_loop()
    request = _request_bytes(path, stream)
    for _ in range(args.connections):
        await loop.create_connection(lambda: _LoadConnection(request, stream, stats), host, port)
    await stats.finished.wait()
    return stats


def _server_cpu(origin: str) -> tuple[float, float]:
    """The server process's (user, system) CPU seconds so far."""
    with urllib.request.urlopen(f"{origin}/_simulator/health", timeout=5) as response:
        health = json.load(response)
    return float(health["cpu_user_s"]), float(health["cpu_system_s"])


def _measure(origin: str, stream: bool, args: argparse.Namespace) -> dict[str, float]:
    parts = urlsplit(origin)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = "/api/v1/chat/completions"
    warmup = argparse.Namespace(**{**vars(args), "seconds": 0.5, "max_requests": 500})
    _event_loop_run(_run(host, port, path, stream, warmup))
    user_before, system_before = _server_cpu(origin)
    started = time.perf_counter()
    stats = _event_loop_run(_run(host, port, path, stream, args))
    elapsed = time.perf_counter() - started
    user_after, system_after = _server_cpu(origin)
    user, system = user_after - user_before, system_after - system_before
    done = max(stats.ok + stats.errors, 1)
    return {
        "requests": stats.ok + stats.errors,
        "errors": stats.errors,
        "seconds": round(elapsed, 3),
        "requests_per_s": round(done / elapsed, 1),
        "server_user_us_per_request": round(user / done * 1e6, 1),
        "server_system_us_per_request": round(system / done * 1e6, 1),
        "server_capacity_per_core": round(done / (user + system), 1) if user + system else 0.0,
    }


def _event_loop_run(coro: object) -> _Stats:
    try:
        import uvloop

        return uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return asyncio.run(coro)  # type: ignore[arg-type]


def _spawn_server(args: argparse.Namespace) -> tuple[subprocess.Popen[str], str, str]:
    """Start ``--serve`` in a child pinned to ``--server-cpu``; returns (process, origin, file)."""
    scenario = {"zero_latency": True, "answer": {"min_words": args.words, "max_words": args.words}}
    handle, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(handle, "w") as file:
        json.dump(scenario, file)
    process = subprocess.Popen(
        [sys.executable, "-m", "llm_gateway.simulator.loadcheck", "--serve", path],
        stdout=subprocess.PIPE,
        text=True,
    )
    if args.server_cpu >= 0:
        os.sched_setaffinity(process.pid, {args.server_cpu})
    assert process.stdout is not None
    port = int(process.stdout.readline().strip())
    return process, f"http://127.0.0.1:{port}", path


def _serve(scenario_path: str) -> None:
    from llm_gateway.simulator.server import run

    def ready(port: int) -> None:
        print(port, flush=True)

    run(scenario_path, "127.0.0.1", 0, on_ready=ready)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running simulator, e.g. http://127.0.0.1:8090")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--words", type=int, default=20, help="tokens per answer (spawned)")
    parser.add_argument("--server-cpu", type=int, default=1, help="-1: do not pin")
    parser.add_argument("--client-cpu", type=int, default=0, help="-1: do not pin")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve(args.serve)
        return 0
    if args.url and urlsplit(args.url).hostname not in ("127.0.0.1", "localhost"):
        parser.error("only loopback targets are allowed")
    if args.client_cpu >= 0:
        os.sched_setaffinity(0, {args.client_cpu})
    process, origin, scenario_file = (
        (None, args.url.rstrip("/"), None) if args.url else _spawn_server(args)
    )
    try:
        report = {
            "json": _measure(origin, False, args),
            f"stream_{args.words}_chunks": _measure(origin, True, args),
        }
    finally:
        if process is not None:
            process.terminate()
            process.wait(5)
        if scenario_file is not None:
            os.unlink(scenario_file)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
