"""The load generator against the real mock upstream on 127.0.0.1: bounded, correct counts,
errors counted by kind. Small and bounded; no assertion on speed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import orjson

from llm_gateway.bench.harness import request_body
from llm_gateway.bench.http_client import build_request
from llm_gateway.bench.loadgen import LoadSpec, run_load
from llm_gateway.bench.mock_upstream import MockBehaviour, serve_mock

PATH = "/api/v1/chat/completions"


@asynccontextmanager
async def mock(behaviour: MockBehaviour) -> AsyncIterator[int]:
    server = await serve_mock("127.0.0.1", 0, behaviour)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def spec_for(port: int, stream: bool, **overrides: object) -> LoadSpec:
    body = request_body("bench-model", stream)
    fields: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "request": build_request("127.0.0.1", port, PATH, body),
        "stream": stream,
        "concurrency": 4,
        "max_requests": 200,
        "max_seconds": 5.0,
        "timeout_s": 5.0,
        "expected_events": 22 if stream else None,
    }
    fields.update(overrides)
    return LoadSpec(**fields)  # type: ignore[arg-type]


async def test_json_run_stops_at_its_request_bound():
    async with mock(MockBehaviour()) as port:
        recorder = await run_load(spec_for(port, stream=False))
    assert recorder.completed == 200
    assert recorder.issued == 200
    assert recorder.error_count == 0
    assert recorder.ttfbs.tolist() == []
    assert all(latency > 0 for latency in recorder.latencies)


async def test_stream_run_records_first_byte_before_the_end():
    async with mock(MockBehaviour(chunks=20, chunk_delay_ms=1.0)) as port:
        recorder = await run_load(spec_for(port, stream=True, max_requests=20))
    assert recorder.completed == 20
    assert recorder.error_count == 0
    pairs = zip(recorder.ttfbs, recorder.latencies, strict=True)
    # 21 events 1 ms apart follow the first: the end comes at least 20 ms after it
    assert all(ttfb > 0 and latency - ttfb >= 0.020 for ttfb, latency in pairs)


async def test_headers_delay_shows_in_latency():
    async with mock(MockBehaviour(headers_delay_ms=30.0)) as port:
        recorder = await run_load(spec_for(port, stream=False, concurrency=2, max_requests=6))
    assert recorder.completed == 6
    assert min(recorder.latencies) >= 0.030


async def test_time_bound_stops_a_run_short_of_its_request_bound():
    async with mock(MockBehaviour(headers_delay_ms=50.0)) as port:
        spec = spec_for(port, stream=False, concurrency=2, max_requests=10_000, max_seconds=0.3)
        recorder = await run_load(spec)
    assert 0 < recorder.completed < 100
    assert recorder.error_count == 0


async def test_wrong_path_and_wrong_event_count_are_errors():
    async with mock(MockBehaviour(chunks=5)) as port:
        request = build_request("127.0.0.1", port, "/nope", b"{}")
        wrong_path = replace(spec_for(port, stream=False, max_requests=8), request=request)
        missing = await run_load(wrong_path)
        short = await run_load(spec_for(port, stream=True, max_requests=8))
    assert missing.completed == 0
    assert missing.errors == {"status 404": 8}
    assert short.errors == {"wrong event count": 8}


async def test_refused_connection_is_counted_not_raised():
    port = await _closed_port()
    spec = spec_for(port, stream=False, concurrency=1, max_requests=3, max_seconds=1.0)
    recorder = await run_load(spec)
    assert recorder.completed == 0
    assert recorder.errors["connect"] >= 1


async def _closed_port() -> int:
    async with mock(MockBehaviour()) as port:
        pass
    return port


def test_request_body_is_the_openai_shape():
    streamed, plain = orjson.loads(request_body("m", True)), orjson.loads(request_body("m", False))
    assert streamed["stream"] is True
    assert "stream" not in plain
    assert plain["model"] == "m"


async def test_a_server_slower_than_the_window_still_shows_its_rate():
    async with mock(MockBehaviour(headers_delay_ms=300.0)) as port:
        spec = spec_for(port, stream=False, concurrency=2, max_seconds=0.1, warmup_seconds=0.1)
        recorder = await run_load(spec)
    # Both warm-up requests finish inside the window; none was started in it.
    assert recorder.completed == 0
    assert recorder.window_completions == 2
    assert recorder.rate > 0
