"""Prometheus exposition of what the gateway counted."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from tests.gateway.scripted_provider import Answer, ScriptedProvider, SingleProviderRegistry

from llm_gateway.errors import ProviderUnavailable
from llm_gateway.gateway import build_gateway
from llm_gateway.settings import Settings

MESSAGES = [{"role": "user", "content": "hello"}]


def samples(exposition: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(exposition.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def test_requests_attempts_cost_and_circuit_are_exposed() -> None:
    provider = ScriptedProvider(
        script={
            "google/gemini-2.0-flash-exp": [ProviderUnavailable("down", upstream_status=503)],
            "*": [Answer("two words")],
        }
    )
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        GATEWAY_SIMULATE=True,
        GATEWAY_MAX_RETRIES=0,
        GATEWAY_CIRCUIT_FAILURE_THRESHOLD=2,
    )
    gw = build_gateway(settings, providers=SingleProviderRegistry(provider))
    for _ in range(3):
        await gw.complete(
            {"model": "gemini-2.5-pro", "messages": MESSAGES}, gw.resolve_route("gemini-2.5-pro")
        )
    got = samples(gw.metrics.exposition())
    ok = (
        "llm_gateway_requests_total",
        (("model", "claude-sonnet"), ("node", "default"), ("status", "ok")),
    )
    assert got[ok] == 3
    assert (
        got[("llm_gateway_attempts_total", (("model", "gemini-2.5-pro"), ("outcome", "error")))]
        == 2
    )
    assert (
        got[("llm_gateway_attempts_total", (("model", "gemini-2.5-pro"), ("outcome", "skipped")))]
        == 1
    )
    assert got[("llm_gateway_circuit_state", (("model", "gemini-2.5-pro"),))] == 2
    assert got[("llm_gateway_cost_usd_total", (("model", "claude-sonnet"),))] > 0
    count = ("llm_gateway_request_duration_seconds_count", (("node", "default"),))
    assert got[count] == 3
