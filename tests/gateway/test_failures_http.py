"""Every failure class through real HTTP: the gateway's OpenRouter provider against the simulator.

Each test asserts what the caller got AND what the simulator saw (attempt counts, gaps).
Chains used (shipped catalogue): gemini-2.5-pro → claude-sonnet → gpt-4o → ...
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from llm_gateway.errors import AllModelsFailed, ContentFiltered, ProviderBadRequest
from llm_gateway.gateway import LLMGateway, build_gateway
from llm_gateway.settings import Settings
from llm_gateway.simulator.engine import answer_for
from llm_gateway.simulator.testing import SimulatorHandle, arun_simulator

PRIMARY = "google/gemini-2.0-flash-exp"
FALLBACK = "anthropic/claude-3.5-sonnet-20241022"
MESSAGES = [{"role": "user", "content": "Explain circuit breakers in one paragraph."}]


def faults(model: str, *specs: dict[str, Any]) -> dict[str, Any]:
    return {"zero_latency": True, "models": {model: {"faults": list(specs)}}}


_open: list[LLMGateway] = []


@pytest.fixture(autouse=True)
async def _close_gateways() -> AsyncIterator[None]:
    """Close every gateway a test built, even when it failed half-way."""
    yield
    while _open:
        await _open.pop().aclose()


async def gateway_for(sim: SimulatorHandle, **env: Any) -> LLMGateway:
    values: dict[str, Any] = {
        "OPENROUTER_API_KEY": "sk-or-test-secret",
        "OPENROUTER_BASE_URL": sim.base_url,
        "GATEWAY_SIMULATE": False,
        "GATEWAY_RETRY_DELAY": 0.05,
        "GATEWAY_HEADERS_TIMEOUT": 0.5,
        "GATEWAY_FIRST_TOKEN_TIMEOUT": 0.5,
        "GATEWAY_STALL_TIMEOUT": 0.5,
        "GATEWAY_TOTAL_TIMEOUT": 10.0,
    }
    values.update(env)
    gateway = build_gateway(Settings(_env_file=None, **values))  # type: ignore[call-arg]
    _open.append(gateway)
    return gateway


async def ask(gw: LLMGateway, model: str = "gemini-2.5-pro", **extra: Any) -> Any:
    body = {"model": model, "messages": MESSAGES, **extra}
    return await gw.complete(body, gw.resolve_route(model))


async def stream_text(gw: LLMGateway, model: str = "gemini-2.5-pro") -> tuple[str, list[dict]]:
    request = {"model": model, "messages": MESSAGES, "stream": True}
    stream = gw.stream(request, gw.resolve_route(model))
    await stream.start()
    chunks = [chunk async for chunk in stream]
    text = "".join(
        (c["choices"][0]["delta"].get("content") or "") for c in chunks if c.get("choices")
    )
    return text, chunks


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with arun_simulator() as handle:
        yield handle


def models_seen(sim: SimulatorHandle) -> list[str | None]:
    return [a.model for a in sim.attempts()]


async def test_429_retry_after_is_honoured_on_the_same_model(sim: SimulatorHandle) -> None:
    sim.set_scenario(
        faults(PRIMARY, {"kind": "error", "status": 429, "retry_after": 0.3, "times": 1})
    )
    gw = await gateway_for(sim)
    response = await ask(gw)
    assert response.body["model"] == "gemini-2.5-pro"
    attempts = sim.attempts(PRIMARY)
    assert [a.status for a in attempts] == [429, 200]
    gaps = [b.t - a.t for a, b in itertools.pairwise(attempts)]
    assert all(gap >= 0.29 for gap in gaps), gaps


async def test_retry_after_beyond_the_deadline_falls_back_at_once(sim: SimulatorHandle) -> None:
    sim.set_scenario(faults(PRIMARY, {"kind": "error", "status": 429, "retry_after": 60}))
    gw = await gateway_for(sim)
    started = time.monotonic()
    response = await ask(gw)
    assert response.body["model"] == "claude-sonnet"
    assert time.monotonic() - started < 2
    assert models_seen(sim) == [PRIMARY, FALLBACK]


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "error", "status": 503},
        {"kind": "error", "status": 429},
        {"kind": "error", "status": 429, "retry_after": 0.1},
    ],
    ids=["503", "429", "429-retry-after"],
)
async def test_persistent_retryable_failure_gets_one_retry_then_the_fallback(
    sim: SimulatorHandle, fault: dict[str, Any]
) -> None:
    sim.set_scenario(faults(PRIMARY, fault))
    gw = await gateway_for(sim, GATEWAY_MAX_RETRIES=3)
    response = await ask(gw)
    assert response.body["model"] == "claude-sonnet"
    assert len(sim.attempts(PRIMARY)) == 2  # not 1 + GATEWAY_MAX_RETRIES while a fallback waits
    assert len(sim.attempts(FALLBACK)) == 1
    failed = [a for a in response.attempts if not a.ok]
    assert [a.upstream_status for a in failed] == [fault["status"]] * 2
    assert response.cost.total > 0  # only the answering attempt is billed


async def test_without_a_fallback_the_whole_retry_budget_is_used(sim: SimulatorHandle) -> None:
    sim.set_scenario(faults(PRIMARY, {"kind": "error", "status": 503}))
    gw = await gateway_for(sim, GATEWAY_FALLBACK_ENABLED=False, GATEWAY_MAX_RETRIES=3)
    with pytest.raises(AllModelsFailed):
        await ask(gw)
    assert models_seen(sim) == [PRIMARY] * 4  # first try + 3 retries, never more


async def test_no_response_is_abandoned_at_the_headers_deadline(sim: SimulatorHandle) -> None:
    sim.set_scenario(faults(PRIMARY, {"kind": "no_response"}))
    gw = await gateway_for(sim, GATEWAY_HEADERS_TIMEOUT=0.3)
    started = time.monotonic()
    # Non-streaming: headers come once the answer is generated, so the headers deadline grows
    # with the answer's size (max_tokens / 40 tok/s): 0.3 s + 0.2 s here.
    response = await ask(gw, max_tokens=8)
    elapsed = time.monotonic() - started
    assert response.body["model"] == "claude-sonnet"
    assert len(sim.attempts(PRIMARY)) == 1  # silence is not retried
    assert 0.3 <= elapsed < 1.5


async def test_hang_up_without_answer_is_not_retried(sim: SimulatorHandle) -> None:
    sim.set_scenario(faults(PRIMARY, {"kind": "connection_reset"}))
    gw = await gateway_for(sim)
    response = await ask(gw)
    assert response.body["model"] == "claude-sonnet"
    assert len(sim.attempts(PRIMARY)) == 1


async def test_context_length_goes_to_a_larger_model_without_retry(sim: SimulatorHandle) -> None:
    sim.set_scenario(faults(PRIMARY, {"kind": "context_length"}))
    gw = await gateway_for(sim)
    response = await ask(gw)
    assert response.body["model"] == "claude-sonnet"  # 200k window > gemini-2.5-pro's 32k
    assert len(sim.attempts(PRIMARY)) == 1


async def test_content_filter_is_surfaced_with_the_reason(sim: SimulatorHandle) -> None:
    sim.set_scenario(faults(PRIMARY, {"kind": "moderation", "reasons": ["harassment"]}))
    gw = await gateway_for(sim)
    with pytest.raises(ContentFiltered) as info:
        await ask(gw)
    assert "harassment" in info.value.message
    assert models_seen(sim) == [PRIMARY]  # neither retried nor laundered through a fallback


async def test_plain_400_is_surfaced_without_retry(sim: SimulatorHandle) -> None:
    sim.set_scenario(faults(PRIMARY, {"kind": "error", "status": 400, "message": "bad tool"}))
    gw = await gateway_for(sim)
    with pytest.raises(ProviderBadRequest):
        await ask(gw)
    assert models_seen(sim) == [PRIMARY]


async def test_fallback_disabled_surfaces_all_failures(sim: SimulatorHandle) -> None:
    sim.set_scenario(faults(PRIMARY, {"kind": "error", "status": 502}))
    gw = await gateway_for(sim, GATEWAY_FALLBACK_ENABLED=False, GATEWAY_MAX_RETRIES=1)
    with pytest.raises(AllModelsFailed) as info:
        await ask(gw)
    assert "gemini-2.5-pro" in str(info.value) and "502" in str(info.value)
    assert models_seen(sim) == [PRIMARY, PRIMARY]


async def test_circuit_opens_skips_the_dead_model_and_recovers(sim: SimulatorHandle) -> None:
    sim.set_scenario(faults(PRIMARY, {"kind": "down", "duration_s": 1.0}))
    gw = await gateway_for(
        sim,
        GATEWAY_MAX_RETRIES=0,
        GATEWAY_CIRCUIT_FAILURE_THRESHOLD=3,
        GATEWAY_CIRCUIT_COOLDOWN_S=0.3,
        GATEWAY_CIRCUIT_MAX_COOLDOWN_S=1.0,
    )
    for _ in range(10):
        assert (await ask(gw)).body["model"] == "claude-sonnet"
    assert len(sim.attempts(PRIMARY)) <= 4  # 3 to trip, at most one probe; not 10
    assert (await gw.health_check())["overall_status"] == "degraded"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        if (await ask(gw)).body["model"] == "gemini-2.5-pro":
            break
    else:
        pytest.fail("traffic never returned to the recovered primary")
    assert (await gw.health_check())["models"]["gemini-2.5-pro"]["circuit"] == "closed"


async def test_callers_cancellation_never_counts_against_the_model(sim: SimulatorHandle) -> None:
    sim.set_scenario(faults(PRIMARY, {"kind": "no_response"}))
    gw = await gateway_for(sim, GATEWAY_CIRCUIT_FAILURE_THRESHOLD=2, GATEWAY_HEADERS_TIMEOUT=5)
    for _ in range(4):
        task = asyncio.create_task(ask(gw))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert gw.circuits.state("gemini-2.5-pro").consecutive_failures == 0


async def test_stream_cut_continues_on_prefill_fallback_to_the_full_answer(
    sim: SimulatorHandle,
) -> None:
    sim.set_scenario(faults(PRIMARY, {"kind": "stream_cut", "after_tokens": 6}))
    gw = await gateway_for(sim)
    text, chunks = await stream_text(gw)
    assert text == answer_for(MESSAGES)
    assert not any("error" in c for c in chunks)
    fallback = sim.attempts(FALLBACK)
    assert len(fallback) == 1 and fallback[0].prefill


async def test_stream_restart_when_fallback_rejects_prefill(sim: SimulatorHandle) -> None:
    scenario = faults(PRIMARY, {"kind": "stream_cut", "after_tokens": 4})
    scenario["models"][FALLBACK] = {"faults": [{"kind": "reject_prefill"}]}
    sim.set_scenario(scenario)
    gw = await gateway_for(sim)
    text, _ = await stream_text(gw)
    assert text == answer_for(MESSAGES)
    assert [a.prefill for a in sim.attempts(FALLBACK)] == [True, False]


async def test_stream_stall_is_recovered(sim: SimulatorHandle) -> None:
    sim.set_scenario(faults(PRIMARY, {"kind": "stream_stall", "after_tokens": 3, "stall_s": 30}))
    gw = await gateway_for(sim, GATEWAY_STALL_TIMEOUT=0.3)
    started = time.monotonic()
    text, _ = await stream_text(gw)
    assert text == answer_for(MESSAGES)
    assert time.monotonic() - started < 3


async def test_slow_first_token_moves_to_the_next_model_invisibly(sim: SimulatorHandle) -> None:
    sim.set_scenario(faults(PRIMARY, {"kind": "slow_first_token", "delay_s": 5}))
    gw = await gateway_for(sim, GATEWAY_FIRST_TOKEN_TIMEOUT=0.3)
    text, chunks = await stream_text(gw)
    assert text == answer_for(MESSAGES)
    assert {c["model"] for c in chunks} == {"claude-sonnet"}


async def test_mid_stream_error_event_is_recovered(sim: SimulatorHandle) -> None:
    sim.set_scenario(faults(PRIMARY, {"kind": "stream_error", "after_tokens": 5}))
    gw = await gateway_for(sim)
    text, _ = await stream_text(gw)
    assert text == answer_for(MESSAGES)


async def test_malformed_chunk_is_skipped_and_missing_done_finalised(sim: SimulatorHandle) -> None:
    sim.set_scenario(
        faults(PRIMARY, {"kind": "malformed_chunk", "after_tokens": 3}, {"kind": "missing_done"})
    )
    gw = await gateway_for(sim)
    request = {
        "model": "gemini-2.5-pro",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    stream = gw.stream(request, gw.resolve_route("gemini-2.5-pro"))
    await stream.start()
    chunks = [c async for c in stream]
    assert not any("error" in c for c in chunks)
    assert models_seen(sim) == [PRIMARY]
    assert stream.usage is not None and stream.usage.completion_tokens > 0
    assert chunks[-1].get("usage")


async def test_unrecoverable_cut_ends_with_an_in_band_error(sim: SimulatorHandle) -> None:
    sim.set_scenario(faults(PRIMARY, {"kind": "stream_cut", "after_tokens": 4}))
    gw = await gateway_for(sim, GATEWAY_FALLBACK_ENABLED=False)
    text, chunks = await stream_text(gw)
    assert "error" in chunks[-1]
    assert "cut" in chunks[-1]["error"]["message"]
    assert answer_for(MESSAGES).startswith(text) and text != answer_for(MESSAGES)
