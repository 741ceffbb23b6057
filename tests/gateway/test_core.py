"""The gateway's orchestration with a scripted provider: fallbacks, retries, surfacing,
circuit breaking, stream recovery. (Real-HTTP failure tests against the simulator live in
tests/gateway/test_failures_http.py.)"""

from __future__ import annotations

import pytest
from tests.gateway.scripted_provider import Answer, ScriptedProvider, SingleProviderRegistry

from llm_gateway.errors import (
    AllModelsFailed,
    ContentFiltered,
    ProviderBadRequest,
    ProviderStreamError,
    ProviderUnavailable,
)
from llm_gateway.gateway import LLMGateway, build_gateway
from llm_gateway.settings import Settings

MESSAGES = [{"role": "user", "content": "Write two words"}]


def make_gateway(script: dict, **env: object) -> tuple[LLMGateway, ScriptedProvider]:
    provider = ScriptedProvider(script=script)
    settings = Settings(GATEWAY_RETRY_DELAY=0.001, GATEWAY_SIMULATE=True, **env)  # type: ignore[arg-type]
    return build_gateway(settings, providers=SingleProviderRegistry(provider)), provider


async def test_fallback_names_the_model_that_answered() -> None:
    gw, provider = make_gateway(
        {
            "google/gemini-2.0-flash-exp": [ProviderUnavailable("down", upstream_status=503)],
            "*": [Answer("from the fallback")],
        }
    )
    route = gw.resolve_route("gemini-2.5-pro")
    response = await gw.complete({"model": "gemini-2.5-pro", "messages": MESSAGES}, route)
    assert response.body["model"] == "claude-sonnet"
    assert response.body["choices"][0]["message"]["content"] == "from the fallback"
    primary_calls = [c for c in provider.calls if c["model"] == "google/gemini-2.0-flash-exp"]
    assert len(primary_calls) == 2  # one retry, then the fallback that can answer
    failed = [a for a in response.attempts if not a.ok]
    assert len(failed) == len(primary_calls)
    assert response.cost.total > 0


async def test_content_filter_surfaces_without_retry_or_fallback() -> None:
    gw, provider = make_gateway({"*": [ContentFiltered("flagged: violence", upstream_status=403)]})
    route = gw.resolve_route("gemini-2.5-pro")
    with pytest.raises(ContentFiltered, match="violence"):
        await gw.complete({"model": "gemini-2.5-pro", "messages": MESSAGES}, route)
    assert len(provider.calls) == 1


async def test_all_models_failed_names_each_failure() -> None:
    gw, _ = make_gateway(
        {"*": [ProviderUnavailable("boom", upstream_status=502)]}, GATEWAY_MAX_RETRIES=0
    )
    route = gw.resolve_route("writer")
    with pytest.raises(AllModelsFailed) as info:
        await gw.complete({"model": "writer", "messages": MESSAGES}, route)
    assert len(info.value.failures) == 1 + 4
    assert "gemini-2.5-pro" in str(info.value)


async def test_circuit_opens_then_requests_go_straight_to_fallback() -> None:
    gw, provider = make_gateway(
        {
            "google/gemini-2.0-flash-exp": [ProviderUnavailable("down", upstream_status=503)],
            "*": [Answer("ok")],
        },
        GATEWAY_MAX_RETRIES=0,
        GATEWAY_CIRCUIT_FAILURE_THRESHOLD=3,
    )
    route = gw.resolve_route("gemini-2.5-pro")
    for _ in range(3):
        await gw.complete({"model": "gemini-2.5-pro", "messages": MESSAGES}, route)
    provider.calls.clear()
    for _ in range(5):
        response = await gw.complete({"model": "gemini-2.5-pro", "messages": MESSAGES}, route)
        assert response.body["model"] == "claude-sonnet"
    assert all(c["model"] != "google/gemini-2.0-flash-exp" for c in provider.calls)
    health = await gw.health_check()
    assert health["overall_status"] == "degraded"
    assert health["models"]["gemini-2.5-pro"]["circuit"] == "open"


async def test_stream_cut_continues_with_prefill_on_fallback() -> None:
    full = "one two three four five six"
    gw, provider = make_gateway(
        {
            "google/gemini-2.0-flash-exp": [
                Answer(full, cut_after=3, cut_error=ProviderStreamError("cut"))
            ],
            "*": [Answer(full)],
        }
    )
    stream = gw.stream(
        {"model": "gemini-2.5-pro", "messages": MESSAGES, "stream": True},
        gw.resolve_route("gemini-2.5-pro"),
    )
    await stream.start()
    text = ""
    async for chunk in stream:
        assert "error" not in chunk
        for choice in chunk.get("choices", []):
            text += choice["delta"].get("content") or ""
    assert text == full
    assert provider.calls[-1]["messages"][-1] == {"role": "assistant", "content": "one two three"}
    assert stream.model is not None and stream.model.logical_id == "claude-sonnet"


async def test_stream_restart_without_prefill_skips_the_prefix() -> None:
    full = "alpha beta gamma delta"
    gw, provider = make_gateway(
        {
            "google/gemini-2.0-flash-exp": [
                Answer(full, cut_after=2, cut_error=ProviderStreamError("cut"))
            ],
            "anthropic/claude-3.5-sonnet-20241022": [
                ProviderBadRequest("prefill rejected"),
                Answer(full),
            ],
            "*": [Answer(full)],
        }
    )
    stream = gw.stream(
        {"model": "gemini-2.5-pro", "messages": MESSAGES, "stream": True},
        gw.resolve_route("gemini-2.5-pro"),
    )
    await stream.start()
    chunks = [c async for c in stream]
    text = "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices")
    )
    assert text == full
    claude = [c for c in provider.calls if c["model"].startswith("anthropic/")]
    assert claude[0]["messages"][-1]["role"] == "assistant"  # prefill tried first
    assert claude[1]["messages"] == MESSAGES  # then a clean restart


async def test_stream_unrecoverable_ends_with_error_event_naming_the_cut() -> None:
    gw, _ = make_gateway(
        {
            "google/gemini-2.0-flash-exp": [
                Answer("a b c d", cut_after=2, cut_error=ProviderStreamError("connection cut"))
            ],
            "*": [ProviderUnavailable("fallback down too", upstream_status=503)],
        },
        GATEWAY_MAX_RETRIES=0,
    )
    stream = gw.stream(
        {"model": "gemini-2.5-pro", "messages": MESSAGES, "stream": True},
        gw.resolve_route("gemini-2.5-pro"),
    )
    await stream.start()
    chunks = [c async for c in stream]
    assert "error" in chunks[-1]
    assert "connection cut" in chunks[-1]["error"]["message"]


async def test_metrics_and_traces_recorded() -> None:
    gw, _ = make_gateway({"*": [Answer("fine")]})
    for _ in range(3):
        await gw.complete({"model": "writer", "messages": MESSAGES}, gw.resolve_route("writer"))
    metrics = await gw.tracer.get_trace_metrics(hours=1)
    assert metrics["request_count"] == 3
    assert metrics["error_rate"] == 0
    assert metrics["total_cost"] > 0
    assert sum(metrics["model_distribution"].values()) == 3
    assert len(gw.tracer.list_traces(hours=1)) == 3
