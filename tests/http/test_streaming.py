"""Streams over a real socket: node-aware chat SSE, tokens as they arrive, client disconnect,
in-band errors, and graceful shutdown letting a stream finish."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from tests.http.conftest import SimulatedProviders
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.gateway import LLMGateway
from llm_gateway.model_policy import ModelPolicyRegistry
from llm_gateway.settings import Settings

HELLO = [{"role": "user", "content": "Tell me a story"}]
WORDS = 30
TOKENS_PER_S = 40.0  # a 30-word answer takes ~0.75 s


def paced_scenario(settings: Settings, **spec: Any) -> dict[str, Any]:
    """Every catalogue model streams WORDS words at TOKENS_PER_S (plus ``spec``)."""
    registry = ModelPolicyRegistry(settings.config_dir)
    models = {
        p.provider_model_id: {"ttft_s": 0.02, "tokens_per_s": TOKENS_PER_S, **spec}
        for p in registry.get_all_policies().values()
    }
    return {
        "zero_latency": False,
        "answer": {"min_words": WORDS, "max_words": WORDS},
        "models": models,
    }


def sse_events(body: str) -> list[tuple[str, Any]]:
    events = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            events.append((fields.get("event", "message"), orjson.loads(fields["data"])))
    return events


# -- node-aware chat ---------------------------------------------------------------------------


async def test_chat_json_carries_node_strategy_trace_and_model(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/chat/formatter", json={"messages": HELLO, "trace_id": "chat-1", "temperature": 0.2}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["node_name"] == "formatter"
    assert body["strategy"] == "cost_optimized"  # the formatter's default strategy
    assert body["trace_id"] == "chat-1"
    assert body["content"]
    assert body["model"] == response.headers["x-gateway-model"]
    assert float(body["cost_usd"]) > 0


async def test_chat_stream_events(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/chat/writer/stream", json={"messages": HELLO, "strategy": "quality_optimized"}
    )

    events = sse_events(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert set(kinds[1:-1]) == {"token"}
    start, done = events[0][1], events[-1][1]
    assert start["node_name"] == "writer"
    assert start["strategy"] == "quality_optimized"
    assert start["trace_id"] == response.headers["x-trace-id"]
    assert done["model"] == start["model"]
    assert done["usage"]["completion_tokens"] > 0
    assert "".join(data["content"] for kind, data in events if kind == "token")


async def test_chat_with_stream_true_is_sse(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/chat/writer", json={"messages": HELLO, "stream": True})

    assert response.headers["content-type"].startswith("text/event-stream")
    assert sse_events(response.text)[0][0] == "start"


async def test_chat_stream_tool_call_events(client: httpx.AsyncClient) -> None:
    tools = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]
    response = await client.post(
        "/api/chat/writer/stream",
        json={"messages": HELLO, "tools": tools, "tool_choice": "required"},
    )

    events = sse_events(response.text)
    calls = [data["tool_calls"] for kind, data in events if kind == "tool_call"]
    assert calls and calls[0][0]["function"]["name"] == "search"
    assert events[-1][1]["finish_reason"] == "tool_calls"


async def test_chat_unknown_node_and_bad_body(client: httpx.AsyncClient) -> None:
    unknown = await client.post("/api/chat/nobody", json={"messages": HELLO})
    empty = await client.post("/api/chat/writer", json={"messages": []})
    strategy = await client.post("/api/chat/writer", json={"messages": HELLO, "strategy": "x"})

    assert unknown.status_code == 404
    assert empty.status_code == 422
    assert empty.json()["error"]["param"] == "messages"
    assert strategy.json()["error"]["param"] == "strategy"


async def test_chat_nodes_lists_the_current_models(client: httpx.AsyncClient) -> None:
    nodes = (await client.get("/api/chat/nodes")).json()["nodes"]

    assert nodes["writer"]["model_id"]
    assert nodes["formatter"]["strategy"] == "cost_optimized"


# -- over a socket, paced ----------------------------------------------------------------------


@pytest.fixture
def providers(settings: Settings) -> SimulatedProviders:
    return SimulatedProviders(paced_scenario(settings), zero_latency=False)


@pytest.fixture
def paced(settings: Settings, gateway: LLMGateway) -> Iterator[tuple[str, Any]]:
    with serve(create_app(settings, gateway=gateway), graceful_s=5.0) as (url, server):
        yield url, server


def test_tokens_arrive_as_they_are_generated(paced: tuple[str, Any]) -> None:
    url, _ = paced
    arrivals: list[float] = []
    with (
        httpx.Client(base_url=url, timeout=10) as client,
        client.stream("POST", "/api/chat/writer/stream", json={"messages": HELLO}) as response,
    ):
        for line in response.iter_lines():
            if line == "event: token":
                arrivals.append(time.monotonic())

    assert len(arrivals) >= WORDS - 1
    # Generation takes ~WORDS / TOKENS_PER_S; buffered output would arrive all at once.
    assert arrivals[-1] - arrivals[0] > 0.5 * (WORDS - 1) / TOKENS_PER_S


def test_client_disconnect_closes_the_stream(paced: tuple[str, Any], gateway: LLMGateway) -> None:
    url, _ = paced
    with (
        httpx.Client(base_url=url, timeout=10) as client,
        client.stream(
            "POST", "/v1/chat/completions", json={"messages": HELLO, "stream": True}
        ) as response,
    ):
        trace_id = response.headers["x-trace-id"]
        first = next(line for line in response.iter_lines() if line.startswith("data: "))
        assert orjson.loads(first[len("data: ") :])["object"] == "chat.completion.chunk"

    deadline = time.monotonic() + 5.0
    while gateway.tracer.get_trace(trace_id) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    trace = gateway.tracer.get_trace(trace_id)
    assert trace is not None  # settled and recorded: the provider stream was closed
    assert trace["usage"] is None or trace["usage"]["completion_tokens"] < WORDS


def test_graceful_shutdown_lets_a_stream_finish(paced: tuple[str, Any]) -> None:
    url, server = paced
    lines: list[str] = []
    with (
        httpx.Client(base_url=url, timeout=10) as client,
        client.stream(
            "POST", "/v1/chat/completions", json={"messages": HELLO, "stream": True}
        ) as response,
    ):
        for line in response.iter_lines():
            lines.append(line)
            if len(lines) == 1:
                threading.Thread(target=setattr, args=(server, "should_exit", True)).start()

    assert [line for line in lines if line][-1] == "data: [DONE]"
    chunks = [orjson.loads(line[6:]) for line in lines if line.startswith("data: {")]
    text = "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c["choices"])
    assert len(text.split()) == WORDS
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", timeout=2)


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/api/chat/writer/stream"])
def test_stream_failing_after_it_began_ends_with_an_error_event(
    settings: Settings, path: str
) -> None:
    cut = paced_scenario(settings, faults=[{"kind": "stream_cut", "after_tokens": 3}])
    from llm_gateway.gateway import build_gateway

    gateway = build_gateway(settings, providers=SimulatedProviders(cut, zero_latency=False))
    with (
        serve(create_app(settings, gateway=gateway)) as (url, _),
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        response = client.post(path, json={"messages": HELLO, "stream": True})

    assert response.status_code == 200
    assert "data: [DONE]" not in response.text
    last_kind, last = sse_events(response.text)[-1]
    assert last_kind in {"message", "error"}
    assert last["error"]["message"]
