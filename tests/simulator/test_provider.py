"""The in-process SimulatedProvider: answers, usage and cost, streams, tool calls, deadlines, and
fault → ProviderError mapping — checked for parity with the HTTP simulator read by the
OpenAI-compatible provider."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from llm_gateway.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderConnectionError,
    ProviderDisconnected,
    ProviderError,
    ProviderRateLimited,
    ProviderStreamError,
    ProviderTimeout,
    ProviderUnavailable,
)
from llm_gateway.model_policy import CostTier, Deadlines, ModelPolicy
from llm_gateway.providers.base import Provider, ProviderRequest, StreamChunk
from llm_gateway.providers.openai_compatible import Endpoint, OpenAICompatibleProvider
from llm_gateway.providers.simulated import SimulatedProvider
from llm_gateway.simulator.engine import answer_for
from llm_gateway.simulator.scenario import Scenario, policy_spec
from llm_gateway.simulator.testing import arun_simulator

USER = [{"role": "user", "content": "Name three rivers."}]
POLICY = ModelPolicy(
    logical_id="river-model",
    provider="simulated",
    provider_model_id="vendor/river",
    capabilities=frozenset(),
    cost_tier=CostTier.LOW,
    context_window=8000,
    input_cost_per_1k=Decimal("0.001"),
    output_cost_per_1k=Decimal("0.004"),
)


def make_request(
    body: dict[str, Any] | None = None,
    *,
    stream: bool = False,
    limit_s: float = 0.2,
    total_s: float = 5.0,
    extra_headers: dict[str, str] | None = None,
) -> ProviderRequest:
    payload = {"model": "vendor/river", "messages": USER, **(body or {})}
    if stream:
        payload["stream"] = True
    return ProviderRequest(
        body=payload,
        policy=POLICY,
        deadlines=Deadlines(headers_s=limit_s, first_token_s=limit_s, stall_s=limit_s),
        deadline_at=time.monotonic() + total_s,
        extra_headers=extra_headers or {},
    )


def faulty(*faults: dict[str, Any]) -> Scenario:
    return Scenario.for_tests(models={"*": {"faults": list(faults)}})


async def collect(chunks: AsyncIterator[StreamChunk]) -> list[StreamChunk]:
    return [chunk async for chunk in chunks]


def text_of(chunks: list[StreamChunk]) -> str:
    return "".join(chunk.content for chunk in chunks)


async def test_complete_answers_with_policy_prices() -> None:
    provider = SimulatedProvider(zero_latency=True)
    response = await provider.complete(make_request())
    assert isinstance(provider, Provider)
    message = response.body["choices"][0]["message"]["content"]
    assert message == answer_for(USER)
    usage = response.usage
    assert usage is not None and usage.prompt_tokens == (len(USER[0]["content"]) + 3) // 4
    expected = usage.prompt_tokens * Decimal("0.001") + usage.completion_tokens * Decimal("0.004")
    assert usage.cost == expected / 1000
    assert response.request_id == response.body["id"] and response.status == 200


async def test_stream_yields_tokens_then_finish_and_usage() -> None:
    provider = SimulatedProvider(zero_latency=True)
    chunks = await collect(provider.stream(make_request(stream=True)))
    assert text_of(chunks) == answer_for(USER)
    assert chunks[-2].finish_reason == "stop" and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(answer_for(USER).split())
    assert all(chunk.data["object"] == "chat.completion.chunk" for chunk in chunks)


async def test_stream_tool_call_deltas() -> None:
    tool = {
        "type": "function",
        "function": {"name": "lookup", "parameters": {"properties": {"q": {"type": "string"}}}},
    }
    provider = SimulatedProvider(zero_latency=True)
    chunks = await collect(provider.stream(make_request({"tools": [tool]}, stream=True)))
    calls = [c.data["choices"][0]["delta"]["tool_calls"][0] for c in chunks[:-2]]
    assert calls[0]["function"]["name"] == "lookup" and calls[0]["id"].startswith("call_")
    arguments = "".join(call["function"]["arguments"] for call in calls)
    assert set(json.loads(arguments)) == {"q"}
    assert chunks[-2].finish_reason == "tool_calls"


async def test_prefill_continuation_and_attempt_log() -> None:
    provider = SimulatedProvider(zero_latency=True)
    full = answer_for(USER)
    messages = [*USER, {"role": "assistant", "content": full[:10]}]
    request = make_request({"messages": messages}, stream=True, extra_headers={"X-Title": "app"})
    chunks = await collect(provider.stream(request))
    assert full[:10] + text_of(chunks) == full
    (attempt,) = provider.attempts()
    assert attempt.prefill and attempt.x_title == "app" and attempt.model == "vendor/river"


def test_latency_is_real_by_default_and_zero_on_request() -> None:
    assert SimulatedProvider().simulation.profile("vendor/river").ttft_s > 0
    assert SimulatedProvider(zero_latency=True).simulation.profile("vendor/river").ttft_s == 0


async def test_deadline_at_bounds_a_slow_model() -> None:
    provider = SimulatedProvider(Scenario.model_validate({"models": {"*": {"ttft_s": 5}}}))
    with pytest.raises(ProviderTimeout) as caught:
        await collect(provider.stream(make_request(stream=True, limit_s=10, total_s=0.05)))
    assert "attempt deadline" in caught.value.message
    assert caught.value.model == "river-model" and caught.value.provider == "simulated"


async def test_rate_limit_carries_retry_after_and_status() -> None:
    provider = SimulatedProvider(faulty({"kind": "error", "status": 429, "retry_after": 2}))
    with pytest.raises(ProviderRateLimited) as caught:
        await provider.complete(make_request())
    assert caught.value.retry_after == 2 and caught.value.upstream_status == 429
    assert caught.value.model == "river-model"


async def test_stream_cut_raises_after_the_tokens_sent() -> None:
    provider = SimulatedProvider(faulty({"kind": "stream_cut", "after_tokens": 3}))
    received: list[StreamChunk] = []
    with pytest.raises(ProviderStreamError):
        async for chunk in provider.stream(make_request(stream=True)):
            received.append(chunk)
    assert len(received) == 3


@pytest.mark.parametrize("stream", [False, True])
async def test_reset_after_the_request_is_a_disconnect(stream: bool) -> None:
    provider = SimulatedProvider(faulty({"kind": "connection_reset"}))
    assert await outcome(provider, make_request(stream=stream)) is ProviderDisconnected
    assert not ProviderDisconnected.retryable


async def test_set_scenario_restarts_fault_counters() -> None:
    provider = SimulatedProvider(faulty({"kind": "error", "status": 503, "times": 1}))
    with pytest.raises(ProviderUnavailable):
        await provider.complete(make_request())
    await provider.complete(make_request())
    provider.set_scenario(faulty({"kind": "error", "status": 503, "times": 1}))
    with pytest.raises(ProviderUnavailable):
        await provider.complete(make_request())


OK = "ok"
PARITY: list[Any] = [
    ({"kind": "error", "status": 429}, False, ProviderRateLimited),
    ({"kind": "error", "status": 503}, True, ProviderUnavailable),
    ({"kind": "error", "status": 408}, False, ProviderUnavailable),
    ({"kind": "error", "status": 402}, False, ProviderAuthError),
    ({"kind": "error", "status": 400}, False, ProviderBadRequest),
    ({"kind": "context_length"}, True, ContextLengthExceeded),
    ({"kind": "moderation"}, False, ContentFiltered),
    ({"kind": "content_filter"}, True, ContentFiltered),
    ({"kind": "down", "duration_s": 60}, True, ProviderUnavailable),
    ({"kind": "connection_reset"}, False, ProviderDisconnected),
    ({"kind": "connection_reset"}, True, ProviderDisconnected),
    ({"kind": "hang_up"}, False, ProviderDisconnected),
    ({"kind": "hang_up"}, True, ProviderDisconnected),
    ({"kind": "no_response", "hold_s": 2}, False, ProviderTimeout),
    ({"kind": "slow_first_token", "delay_s": 1}, True, ProviderTimeout),
    ({"kind": "slow_first_token", "delay_s": 1}, False, ProviderTimeout),
    ({"kind": "stream_cut", "after_tokens": 2}, True, ProviderStreamError),
    ({"kind": "stream_cut"}, False, ProviderConnectionError),
    ({"kind": "stream_stall", "after_tokens": 2, "stall_s": 1}, True, ProviderTimeout),
    ({"kind": "stream_error", "after_tokens": 2}, True, ProviderStreamError),
    ({"kind": "stream_error"}, False, ProviderUnavailable),
    ({"kind": "malformed_chunk", "after_tokens": 2}, True, OK),
    ({"kind": "malformed_chunk"}, False, ProviderUnavailable),
    ({"kind": "missing_done"}, True, OK),
    ({"kind": "finish_content_filter", "after_tokens": 2}, True, ContentFiltered),
    ({"kind": "finish_content_filter"}, False, ContentFiltered),
    ({"kind": "reject_prefill"}, False, ProviderBadRequest),
]


def _values(case: Any) -> tuple[Any, ...]:
    return tuple(case.values) if hasattr(case, "values") else tuple(case)


async def outcome(provider: Any, request: ProviderRequest) -> Any:
    """The error class a request ends with, or (OK, text) when it succeeds."""
    try:
        if request.stream:
            return OK, text_of(await collect(provider.stream(request)))
        response = await provider.complete(request)
        return OK, response.body["choices"][0]["message"]["content"]
    except ProviderError as exc:
        assert exc.model == "river-model"
        return type(exc)


@pytest.mark.parametrize(
    ("fault", "stream", "expected"),
    PARITY,
    ids=[f"{_values(p)[0]['kind']}-{'stream' if _values(p)[1] else 'json'}" for p in PARITY],
)
async def test_in_process_and_http_simulator_fail_alike(
    fault: dict[str, Any], stream: bool, expected: Any
) -> None:
    scenario = faulty(fault)
    prefill = [*USER, {"role": "assistant", "content": "The"}]
    body = {"messages": prefill} if fault["kind"] == "reject_prefill" else None
    request = make_request(body, stream=stream)
    in_process = await outcome(SimulatedProvider(scenario), request)
    catalog = {POLICY.provider_model_id: policy_spec(POLICY)}
    async with arun_simulator(scenario, catalog=catalog) as sim:
        http = OpenAICompatibleProvider(Endpoint(name="simulated", base_url=sim.base_url))
        try:
            over_http = await outcome(http, make_request(body, stream=stream))
        finally:
            await http.close()
    assert in_process == over_http
    if expected is OK:
        assert in_process[0] == OK and in_process[1] == answer_for(USER)
    else:
        assert in_process is expected


async def test_health_and_close() -> None:
    provider = SimulatedProvider()
    health = await provider.health()
    assert health.name == "simulated" and health.status == "ok"
    await provider.close()
