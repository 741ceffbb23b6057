"""The simulator over real HTTP: wire shapes (read with the OpenAI SDK too), usage and cost, tool
calls, JSON mode, prefill, the models list, the attempt log and scenario reload."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import openai
import orjson
import pytest

from llm_gateway.simulator.testing import SimulatorHandle, arun_simulator, run_simulator

USER = [{"role": "user", "content": "Tell me about harbors."}]
PRICED = {
    "models": {
        "openai/gpt-4o": {
            "name": "OpenAI: GPT-4o",
            "input_cost_per_1k": "0.0025",
            "output_cost_per_1k": "0.01",
            "context_length": 128000,
        }
    }
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        },
    },
}


# verify=False: plain-HTTP loopback only, and it spares loading the CA bundle (~0.1 s a client).


@pytest.fixture
def http(simulator: SimulatorHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=simulator.base_url, timeout=5, verify=False) as client:
        yield client


def make_sdk(base_url: str) -> openai.OpenAI:
    client = httpx.Client(verify=False, timeout=5)
    return openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0, http_client=client)


@pytest.fixture
def sdk(simulator: SimulatorHandle) -> Iterator[openai.OpenAI]:
    client = make_sdk(simulator.base_url)
    yield client
    client.close()


def sse_events(text: str) -> list[Any]:
    """The data of every ``data:`` line; ``"[DONE]"`` kept as a string."""
    events = []
    for line in text.split("\n"):
        if line.startswith("data: "):
            data = line[len("data: ") :]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


@pytest.mark.simulator_scenario(PRICED)
def test_non_streaming_completion_has_openrouter_shape_usage_and_cost(
    simulator: SimulatorHandle, sdk: openai.OpenAI
) -> None:
    completion = sdk.chat.completions.create(model="openai/gpt-4o", messages=USER)  # type: ignore[arg-type]
    assert completion.object == "chat.completion" and completion.id.startswith("gen-")
    assert completion.model == "openai/gpt-4o"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert choice.message.content == simulator.answer_for(USER)
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == (len(USER[0]["content"]) + 3) // 4
    assert usage.completion_tokens == len(choice.message.content.split())
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    raw = completion.model_dump()
    assert raw["provider"] == "OpenAI"
    expected = (
        usage.prompt_tokens * Decimal("0.0025") + usage.completion_tokens * Decimal("0.01")
    ) / 1000
    assert Decimal(str(raw["usage"]["cost"])) == expected
    assert raw["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
    assert raw["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0


def test_stream_has_chunks_finish_usage_and_done(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    body = {"model": "openai/gpt-4o", "messages": USER, "stream": True}
    response = http.post("/chat/completions", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == simulator.answer_for(USER)
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == len(
        text.split()
    )


def test_openai_sdk_reads_the_stream(simulator: SimulatorHandle, sdk: openai.OpenAI) -> None:
    stream = sdk.chat.completions.create(
        model="openai/gpt-4o",
        messages=USER,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    parts, usage, finish = [], None, None
    for chunk in stream:
        if chunk.choices:
            parts.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
        usage = chunk.usage or usage
    assert "".join(parts) == simulator.answer_for(USER)
    assert finish == "stop" and usage is not None and usage.completion_tokens == len(parts) - 1


def test_plain_openai_paths_work_under_v1(simulator: SimulatorHandle) -> None:
    client = make_sdk(simulator.openai_base_url)
    completion = client.chat.completions.create(model="x/y", messages=USER)  # type: ignore[arg-type]
    assert completion.choices[0].message.content == simulator.answer_for(USER)
    client.close()


@pytest.mark.simulator_scenario(PRICED)
def test_models_list_has_openrouter_and_openai_fields(
    sdk: openai.OpenAI, http: httpx.Client
) -> None:
    models = sdk.models.list().data
    assert [m.id for m in models] == ["openai/gpt-4o"]
    entry = http.get("/models").json()["data"][0]
    assert entry["name"] == "OpenAI: GPT-4o" and entry["context_length"] == 128000
    assert entry["pricing"] == {
        "prompt": "0.0000025",
        "completion": "0.00001",
        "input_cache_read": "0.0000025",
        "request": "0",
        "image": "0",
    }


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls(simulator: SimulatorHandle, sdk: openai.OpenAI, stream: bool) -> None:
    kwargs: dict[str, Any] = {"model": "m/x", "messages": USER, "tools": [WEATHER]}
    if stream:
        name, arguments, call_id, finish = "", "", None, None
        for chunk in sdk.chat.completions.create(**kwargs, stream=True):
            if not chunk.choices:
                continue
            finish = chunk.choices[0].finish_reason or finish
            for call in chunk.choices[0].delta.tool_calls or ():
                call_id = call.id or call_id
                name += call.function.name or "" if call.function else ""
                arguments += call.function.arguments or "" if call.function else ""
    else:
        message = sdk.chat.completions.create(**kwargs).choices[0]
        finish = message.finish_reason
        call = message.message.tool_calls[0]  # type: ignore[index]
        name, arguments, call_id = call.function.name, call.function.arguments, call.id  # type: ignore[union-attr]
    assert finish == "tool_calls" and name == "get_weather"
    assert set(json.loads(arguments)) == {"city", "days"}
    assert call_id is not None and call_id.startswith("call_")


def test_json_mode_content_is_json(simulator: SimulatorHandle, sdk: openai.OpenAI) -> None:
    completion = sdk.chat.completions.create(
        model="m/x",
        messages=USER,  # type: ignore[arg-type]
        response_format={"type": "json_object"},
    )
    assert json.loads(completion.choices[0].message.content or "") == {
        "answer": simulator.answer_for(USER)
    }


def test_max_tokens_truncates_with_length(sdk: openai.OpenAI) -> None:
    completion = sdk.chat.completions.create(model="m/x", messages=USER, max_tokens=4)  # type: ignore[arg-type]
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None and completion.usage.completion_tokens == 4


def test_prefill_continuation_completes_the_full_answer(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    full = simulator.answer_for(USER)
    prefill = full[: len(full) // 3]
    messages = [*USER, {"role": "assistant", "content": prefill}]
    body = {"model": "anthropic/claude-3.5-sonnet", "messages": messages, "stream": True}
    events = sse_events(http.post("/chat/completions", json=body).text)
    text = "".join(
        e["choices"][0]["delta"].get("content") or "" for e in events[:-1] if e["choices"]
    )
    assert prefill + text == full
    assert simulator.attempts()[-1].prefill is True


def test_answers_are_deterministic_across_requests(http: httpx.Client) -> None:
    body = {"model": "a/b", "messages": USER}
    first = http.post("/chat/completions", json=body).json()
    second = http.post("/chat/completions", json=body).json()
    assert first["choices"][0]["message"] == second["choices"][0]["message"]
    assert first["id"] != second["id"]


def test_attempt_log_records_requests_without_secrets(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    headers = {
        "Authorization": "Bearer sk-secret-value",
        "HTTP-Referer": "https://app",
        "X-Title": "T",
    }
    body = {
        "model": "a/b",
        "messages": USER,
        "provider": {"order": ["OpenAI"]},
        "models": ["a/b", "c/d"],
    }
    http.post("/chat/completions", json=body, headers=headers)
    http.post("/chat/completions", json={"model": "c/d", "messages": USER, "stream": True})
    first, second = simulator.attempts()
    assert first.model == "a/b" and not first.stream and first.message_count == 1
    assert first.authorization is True and first.http_referer == "https://app"
    assert first.x_title == "T" and first.provider == {"order": ["OpenAI"]}
    assert first.models == ["a/b", "c/d"] and first.status == 200 and first.fault is None
    assert second.authorization is False and second.stream and second.attempt == 1
    assert first.messages_hash == second.messages_hash and first.t <= second.t
    listed = http.get(f"{simulator.origin}/_simulator/attempts").json()["attempts"]
    assert "sk-secret-value" not in orjson.dumps(listed).decode()
    assert [a["model"] for a in listed] == ["a/b", "c/d"]
    only = http.get(f"{simulator.origin}/_simulator/attempts", params={"model": "c/d"}).json()
    assert len(only["attempts"]) == 1
    assert http.delete(f"{simulator.origin}/_simulator/attempts").json() == {"cleared": 2}
    assert simulator.attempts() == []


def test_invalid_requests_get_openrouter_error_bodies(http: httpx.Client) -> None:
    response = http.post("/chat/completions", content=b"not json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 400
    assert http.post("/chat/completions", json={"model": "a/b"}).status_code == 400
    assert http.get("/nowhere").status_code == 404
    assert http.get("/chat/completions").status_code == 405


def test_scenario_reload_over_http_and_through_the_handle(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    control = f"{simulator.origin}/_simulator/scenario"
    yaml_text = (
        "zero_latency: true\nmodels:\n  '*':\n"
        "    faults:\n      - {kind: error, status: 503, times: 1}\n"
    )
    assert http.put(control, content=yaml_text).status_code == 200
    body = {"model": "a/b", "messages": USER}
    assert http.post("/chat/completions", json=body).status_code == 503
    assert http.post("/chat/completions", json=body).status_code == 200
    bad = http.put(control, content='{"models": {"*": {"colour": 1}}}')
    assert bad.status_code == 400 and "colour" in bad.text
    simulator.set_scenario({"zero_latency": True, "strict_models": True, "models": {"k/m": {}}})
    assert http.post("/chat/completions", json=body).status_code == 400
    assert http.get(control).json()["strict_models"] is True


def test_require_auth_refuses_requests_without_a_key(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    simulator.set_scenario({"zero_latency": True, "require_auth": True})
    body = {"model": "a/b", "messages": USER}
    response = http.post("/chat/completions", json=body)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "No auth credentials found"
    ok = http.post("/chat/completions", json=body, headers={"Authorization": "Bearer k"})
    assert ok.status_code == 200


def test_health_and_keep_alive_reuse(simulator: SimulatorHandle, http: httpx.Client) -> None:
    for _ in range(3):
        http.post("/chat/completions", json={"model": "a/b", "messages": USER})
    health = http.get(f"{simulator.origin}/_simulator/health").json()
    assert health["status"] == "ok" and health["attempts"] == 3
    assert health["connections"] == 1  # one keep-alive connection served everything


def test_pipelined_requests_are_answered_in_order(simulator: SimulatorHandle) -> None:
    import socket

    body = orjson.dumps({"model": "a/b", "messages": USER})
    request = (
        b"POST /api/v1/chat/completions HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(body), body)
    )
    with socket.create_connection(("127.0.0.1", simulator.port), timeout=5) as sock:
        sock.sendall(request * 3)
        received = b""
        while received.count(b"HTTP/1.1 200") < 3 or not received.endswith(b"}}"):
            received += sock.recv(65536)
    assert received.count(b'"object":"chat.completion"') == 3


async def test_async_context_manager_runs_a_simulator() -> None:
    async with (
        arun_simulator() as sim,
        httpx.AsyncClient(base_url=sim.base_url, verify=False) as client,
    ):
        response = await client.post("/chat/completions", json={"model": "a/b", "messages": USER})
        assert response.json()["choices"][0]["message"]["content"] == sim.answer_for(USER)


def test_realistic_latency_paces_the_stream_with_processing_comments() -> None:
    scenario = {
        "processing_interval_s": 0.02,
        "answer": {"min_words": 5, "max_words": 5},
        "models": {"*": {"ttft_s": 0.06, "tokens_per_s": 200}},
    }
    with run_simulator(scenario) as sim:
        body = {"model": "a/b", "messages": USER, "stream": True}
        with httpx.Client(verify=False) as client:
            text = client.post(f"{sim.base_url}/chat/completions", json=body).text
    assert text.startswith(": OPENROUTER PROCESSING\n\n")
    assert text.count(": OPENROUTER PROCESSING") >= 2
    assert sse_events(text)[-1] == "[DONE]"


async def test_slow_streams_do_not_block_other_requests() -> None:
    scenario = {
        "answer": {"min_words": 5, "max_words": 5},
        "models": {
            # a wide margin: on a loaded 2-core CI machine opening 50 streams can take >1 s
            "slow/model": {"ttft_s": 4.0, "tokens_per_s": 200},
            "fast/model": {"ttft_s": 0, "tokens_per_s": 100_000},
        },
    }
    limits = httpx.Limits(max_connections=100)
    async with (
        arun_simulator(scenario) as sim,
        httpx.AsyncClient(base_url=sim.base_url, verify=False, limits=limits, timeout=20) as client,
    ):

        async def slow() -> str:
            body = {"model": "slow/model", "messages": USER, "stream": True}
            return (await client.post("/chat/completions", json=body)).text

        tasks = [asyncio.create_task(slow()) for _ in range(50)]
        for _ in range(500):  # until the simulator has received all 50 (bounded: 5 s)
            if len(sim.attempts()) == 50:
                break
            await asyncio.sleep(0.01)
        fast = await client.post(
            "/chat/completions", json={"model": "fast/model", "messages": USER}
        )
        assert fast.status_code == 200
        assert not any(task.done() for task in tasks)  # all 50 slow streams still in flight
        assert all(text.endswith("data: [DONE]\n\n") for text in await asyncio.gather(*tasks))
