"""HTTP clients for the provider hot path: req/s and CPU per request against a fast local upstream.

Starts a minimal OpenAI-compatible HTTP/1.1 server (raw asyncio protocol, prebuilt responses) in a
child process on 127.0.0.1, then drives it from this process with each client doing exactly the
provider's work: POST an orjson body with keep-alive, read the answer, orjson-parse it (JSON), or
decode the SSE events and parse each chunk (stream). Clients: aiohttp, httpx, the gateway's native
transport (``providers/transport``), and the real ``OpenAICompatibleProvider`` on each of its two
transports (deadlines, error mapping, chunk parsing included) to show what the provider adds.
``floor`` writes prebuilt requests on raw keep-alive connections and only waits for the answer's
last bytes (no HTTP parsing, no JSON): the syscall and event-loop cost no client can avoid.
With two or more CPUs the server is pinned to the last one and this process to the first.

Every run is bounded in request count AND wall time. Usage:

    .venv/bin/python bench/http_client_bench.py               # defaults: 3000 req, c=16, 3 runs
    .venv/bin/python bench/http_client_bench.py --requests 5000 --concurrency 32 --loop asyncio
    .venv/bin/python bench/http_client_bench.py --clients native provider(native) --profile
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

CHUNKS = 20
BODY = orjson.dumps(
    {"model": "bench/model", "messages": [{"role": "user", "content": "Say hello " * 20}]}
)
STREAM_BODY = orjson.dumps(
    {"model": "bench/model", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
)


# ---------------------------------------------------------------- the upstream (child process)


def _responses() -> tuple[bytes, bytes]:
    completion = orjson.dumps(
        {
            "id": "gen-1",
            "object": "chat.completion",
            "model": "bench/model",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "hello " * 20},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 30,
                "completion_tokens": 20,
                "total_tokens": 50,
                "cost": 0.00012,
            },
        }
    )
    json_response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
        b"x-request-id: req-1\r\n\r\n%s" % (len(completion), completion)
    )
    frames = [
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    ]
    events = [b": OPENROUTER PROCESSING\n\n"]
    for i in range(CHUNKS):
        chunk = {
            "id": "gen-1",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": f"tok{i} "}, "finish_reason": None}],
        }
        events.append(b"data: " + orjson.dumps(chunk) + b"\n\n")
    final = {
        "id": "gen-1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": 5,
            "completion_tokens": CHUNKS,
            "total_tokens": 25,
            "cost": 0.0001,
        },
    }
    events.append(b"data: " + orjson.dumps(final) + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    for event in events:
        frames.append(b"%x\r\n%s\r\n" % (len(event), event))
    frames.append(b"0\r\n\r\n")
    return json_response, b"".join(frames)


class _Upstream(asyncio.Protocol):
    JSON, STREAM = _responses()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower() + b"\r\n"
            start = head.find(b"\r\ncontent-length:")
            length = int(head[start + 17 : head.find(b"\r\n", start + 2)]) if start >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            streaming = b'"stream":true' in body
            self.transport.write(self.STREAM if streaming else self.JSON)


def _serve(
    port: int, ready: multiprocessing.synchronize.Event, max_seconds: float, cpu: int | None
) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Upstream, "127.0.0.1", port, backlog=1024)
        ready.set()
        async with server:
            await asyncio.sleep(max_seconds)  # the parent terminates us long before this

    asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------- the clients


async def _aiohttp_client(
    url: str, concurrency: int
) -> tuple[Callable[[bool], Awaitable[int]], Callable[[], Awaitable[None]]]:
    import aiohttp

    from llm_gateway.providers.sse import SSEDecoder

    connector = aiohttp.TCPConnector(
        limit=concurrency, limit_per_host=concurrency, ttl_dns_cache=300, keepalive_timeout=30
    )
    session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None))
    headers = {"Authorization": "Bearer k", "Content-Type": "application/json"}

    async def one(stream: bool) -> int:
        async with session.post(url, data=STREAM_BODY if stream else BODY, headers=headers) as r:
            if not stream:
                return len(orjson.loads(await r.read())["choices"])
            decoder, count = SSEDecoder(), 0
            async for raw in r.content.iter_any():
                for data in decoder.feed(raw):
                    if data != b"[DONE]":
                        orjson.loads(data)
                        count += 1
            return count

    return one, session.close


async def _httpx_client(
    url: str, concurrency: int
) -> tuple[Callable[[bool], Awaitable[int]], Callable[[], Awaitable[None]]]:
    import httpx

    from llm_gateway.providers.sse import SSEDecoder

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    client = httpx.AsyncClient(limits=limits, timeout=None)
    headers = {"Authorization": "Bearer k", "Content-Type": "application/json"}

    async def one(stream: bool) -> int:
        if not stream:
            response = await client.post(url, content=BODY, headers=headers)
            return len(orjson.loads(response.content)["choices"])
        async with client.stream("POST", url, content=STREAM_BODY, headers=headers) as response:
            decoder, count = SSEDecoder(), 0
            async for raw in response.aiter_raw():
                for data in decoder.feed(raw):
                    if data != b"[DONE]":
                        orjson.loads(data)
                        count += 1
            return count

    return one, client.aclose


class _RawProtocol(asyncio.Protocol):
    """The floor: a request written, bytes read until the answer's known last bytes; no HTTP."""

    def __init__(self) -> None:
        self.waiter: asyncio.Future[None] | None = None
        self.end = b""
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.tail = (self.tail + data)[-8:]
        if self.tail.endswith(self.end) and self.waiter is not None:
            self.waiter.set_result(None)


async def _floor_client(
    url: str, concurrency: int
) -> tuple[Callable[[bool], Awaitable[int]], Callable[[], Awaitable[None]]]:
    loop = asyncio.get_running_loop()
    port = int(url.split(":")[2].split("/")[0])
    idle = [
        (await loop.create_connection(_RawProtocol, "127.0.0.1", port))[1]
        for _ in range(concurrency)
    ]
    requests = {
        stream: b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        for stream, body in ((False, BODY), (True, STREAM_BODY))
    }
    ends = {False: _Upstream.JSON[-8:], True: _Upstream.STREAM[-8:]}

    async def one(stream: bool) -> int:
        protocol = idle.pop()
        protocol.end, protocol.tail = ends[stream], b""
        protocol.waiter = loop.create_future()
        protocol.transport.write(requests[stream])
        await protocol.waiter
        idle.append(protocol)
        return 1

    async def close() -> None:
        for protocol in idle:
            protocol.transport.close()

    return one, close


async def _native_client(
    url: str, concurrency: int
) -> tuple[Callable[[bool], Awaitable[int]], Callable[[], Awaitable[None]]]:
    from llm_gateway.providers.sse import SSEDecoder
    from llm_gateway.providers.transport import Deadline, NativeTransport, Origin

    transport = NativeTransport(Origin.of(url), concurrency, 15.0)
    target = "/" + url.split("/", 3)[3]
    head = transport.prepare(
        "POST", target, {"Authorization": "Bearer k", "Content-Type": "application/json"}
    )

    async def one(stream: bool) -> int:
        deadline = Deadline(time.monotonic() + 30, "bench deadline")
        if not stream:
            response = await transport.request(head, BODY, deadline, deadline)
            return len(orjson.loads(response.body)["choices"])
        body = await transport.stream(head, STREAM_BODY, deadline)
        decoder, count = SSEDecoder(), 0
        while raw := await body.read(deadline):
            for data in decoder.feed(raw):
                if data != b"[DONE]":
                    orjson.loads(data)
                    count += 1
        return count

    return one, transport.close


def _provider_client(kind: str) -> Callable[..., Awaitable[Any]]:
    async def make(
        url: str, concurrency: int
    ) -> tuple[Callable[[bool], Awaitable[int]], Callable[[], Awaitable[None]]]:
        return await _provider(url, concurrency, kind)

    return make


async def _provider(
    url: str, concurrency: int, kind: str
) -> tuple[Callable[[bool], Awaitable[int]], Callable[[], Awaitable[None]]]:
    from decimal import Decimal

    from pydantic import SecretStr

    from llm_gateway.model_policy import DEFAULT_DEADLINES, CostTier, ModelPolicy
    from llm_gateway.providers.base import ProviderRequest
    from llm_gateway.providers.openai_compatible import Endpoint, OpenAICompatibleProvider

    base = url.rsplit("/chat/completions", 1)[0]
    provider = OpenAICompatibleProvider(
        Endpoint(name="bench", base_url=base, api_key=SecretStr("k"), max_connections=concurrency),
        transport=kind,  # type: ignore[arg-type]
    )
    policy = ModelPolicy(
        logical_id="bench",
        provider="bench",
        provider_model_id="bench/model",
        capabilities=frozenset(),
        cost_tier=CostTier.LOW,
        context_window=8000,
        input_cost_per_1k=Decimal(0),
        output_cost_per_1k=Decimal(0),
    )
    bodies = {False: orjson.loads(BODY), True: orjson.loads(STREAM_BODY)}

    async def one(stream: bool) -> int:
        request = ProviderRequest(
            body=bodies[stream],
            policy=policy,
            deadlines=DEFAULT_DEADLINES,
            deadline_at=time.monotonic() + 30,
        )
        if not stream:
            return len((await provider.complete(request)).body["choices"])
        count = 0
        async for _chunk in provider.stream(request):
            count += 1
        return count

    return one, provider.close


CLIENTS: dict[str, Callable[..., Awaitable[Any]]] = {
    "floor": _floor_client,
    "aiohttp": _aiohttp_client,
    "httpx": _httpx_client,
    "native": _native_client,
    "provider(aiohttp)": _provider_client("aiohttp"),
    "provider(native)": _provider_client("native"),
}


# ---------------------------------------------------------------- the driver


async def _measure(
    one: Callable[[bool], Awaitable[int]],
    stream: bool,
    requests: int,
    concurrency: int,
    max_seconds: float,
) -> dict[str, float]:
    for _ in range(min(200, requests)):  # warm-up: connections open, code paths hot
        await one(stream)
    latencies: list[float] = []
    issued = 0
    stop_at = time.perf_counter() + max_seconds

    async def worker() -> None:
        nonlocal issued
        while issued < requests and time.perf_counter() < stop_at:
            issued += 1
            began = time.perf_counter()
            await one(stream)
            latencies.append(time.perf_counter() - began)

    began, cpu_began = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        # This process's CPU per request: the cost that bounds req/s on one core, and the
        # figure least disturbed by other load on the machine.
        "cpu_us": cpu / len(latencies) * 1e6,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


async def _profile(one: Callable[[bool], Awaitable[int]], stream: bool, requests: int) -> str:
    """cProfile of ``requests`` sequential requests: the top functions by own time."""
    import cProfile
    import io
    import pstats

    for _ in range(min(200, requests)):
        await one(stream)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        await one(stream)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(22)
    return out.getvalue()


async def _run(url: str, args: argparse.Namespace) -> list[tuple[str, str, dict[str, float]]]:
    rows = []
    for mode, stream in (("json", False), ("stream", True)):
        for name in args.clients:
            one, close = await CLIENTS[name](url, args.concurrency)
            try:
                if args.profile:
                    print(f"==== profile {mode} {name}\n", await _profile(one, stream, 2000))
                    continue
                for c in (1, args.concurrency):
                    runs = [
                        await _measure(one, stream, args.requests, c, args.max_seconds)
                        for _ in range(args.repeat)
                    ]
                    stats = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
                    rows.append((f"{mode} c={c}", name, stats))
            finally:
                await close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="per measurement (bounded)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-seconds", type=float, default=20.0, help="per measurement")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell; medians shown")
    parser.add_argument("--clients", nargs="+", default=list(CLIENTS), choices=list(CLIENTS))
    parser.add_argument("--profile", action="store_true", help="cProfile 2000 requests instead")
    args = parser.parse_args()
    port = _free_port()
    ready = multiprocessing.Event()
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = cpus[-1] if len(cpus) > 1 else None
    server = multiprocessing.Process(
        target=_serve, args=(port, ready, 600.0, server_cpu), daemon=True
    )
    server.start()
    if server_cpu is not None:
        os.sched_setaffinity(0, set(cpus[:-1]))  # the clients on the other core(s)
    try:
        if not ready.wait(10):
            raise SystemExit("the local upstream did not start")
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        if args.loop == "uvloop":
            import uvloop

            rows = uvloop.run(_run(url, args))
        else:
            rows = asyncio.run(_run(url, args))
    finally:
        server.terminate()
        server.join(5)
    if args.profile:
        return
    pinned = f"server on cpu {server_cpu}" if server_cpu is not None else "not pinned"
    print(
        f"loop={args.loop}  requests/measurement<={args.requests}  repeat={args.repeat} (medians)  "
        f"stream={CHUNKS} chunks+usage+[DONE]  {pinned}"
    )
    print(
        f"{'mode':<14}{'client':<20}{'n':>7}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'cpu us/req':>12}"
    )
    for mode, name, s in rows:
        print(
            f"{mode:<14}{name:<20}{s['requests']:>7.0f}{s['rps']:>10.0f}"
            f"{s['p50_ms']:>9.3f}{s['p99_ms']:>9.3f}{s['cpu_us']:>12.0f}"
        )


if __name__ == "__main__":
    main()
