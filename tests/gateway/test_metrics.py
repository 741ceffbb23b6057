"""Prometheus exposition of what the gateway counted."""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from tests.gateway.scripted_provider import Answer, ScriptedProvider, SingleProviderRegistry

from llm_gateway import __version__
from llm_gateway.config_reload import reload_files
from llm_gateway.errors import GatewayError, NotFound, ProviderUnavailable
from llm_gateway.gateway import build_gateway
from llm_gateway.metrics import recording
from llm_gateway.settings import Settings

MESSAGES = [{"role": "user", "content": "hello"}]
CONFIG = Path(__file__).resolve().parents[2] / "config"


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
        (("error_type", ""), ("model", "claude-sonnet"), ("node", "default"), ("status", "ok")),
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


def _gateway() -> Any:
    settings = Settings(_env_file=None, GATEWAY_SIMULATE=True)  # type: ignore[call-arg]
    provider = ScriptedProvider(script={"*": [Answer("two words")] * 20})
    return build_gateway(settings, providers=SingleProviderRegistry(provider))


async def test_client_keys_are_counted_by_name_and_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recording, "MAX_CLIENTS", 2)
    gw = _gateway()
    for name in ("team-a", "team-b", "team-c", "team-d", "team-a"):
        route = gw.resolve_route("writer", api_key_id=name)
        await gw.complete({"model": "writer", "messages": MESSAGES}, route)
    got = samples(gw.metrics.exposition())
    clients = {
        dict(labels)["client"]: value
        for (name, labels), value in got.items()
        if name == "llm_gateway_client_requests_total"
    }
    assert clients == {"team-a": 2, "team-b": 1, "other": 2}
    assert got[("llm_gateway_client_cost_usd_total", (("client", "team-a"),))] > 0


async def test_refused_requests_are_counted_without_a_duration() -> None:
    gw = _gateway()
    with pytest.raises(NotFound):
        gw.resolve_route("no-such-model")
    await gw.complete({"model": "writer", "messages": MESSAGES}, gw.resolve_route("writer"))
    got = samples(gw.metrics.exposition())
    refused = (
        "llm_gateway_requests_total",
        (
            ("error_type", "not_found_error"),
            ("model", "none"),
            ("node", "default"),
            ("status", "refused"),
        ),
    )
    assert got[refused] == 1
    counts = [v for (n, _), v in got.items() if n == "llm_gateway_request_duration_seconds_count"]
    assert counts == [1]  # the answered request only


async def test_added_collectors_are_scraped_and_a_failing_one_is_left_out() -> None:
    gw = _gateway()

    def budgets() -> Iterator[Metric]:
        family = GaugeMetricFamily("llm_gateway_budget_remaining_usd", "Left", labels=["budget"])
        family.add_metric(["monthly"], 12.5)
        yield family

    def broken() -> Iterator[Metric]:
        raise RuntimeError("a bug in a hook")
        yield  # pragma: no cover

    gw.metrics.add_collector(broken)
    gw.metrics.add_collector(budgets)
    got = samples(gw.metrics.exposition())
    assert got[("llm_gateway_budget_remaining_usd", (("budget", "monthly"),))] == 12.5
    assert (
        got[
            (
                "llm_gateway_build_info",
                (("python_version", platform.python_version()), ("version", __version__)),
            )
        ]
        == 1
    )


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of the shipped config, and a broken policies file to swap in."""
    shutil.copytree(CONFIG, tmp_path / "config")
    (tmp_path / "broken.yaml").write_text("policies: [oops\n")
    return tmp_path / "config"


async def test_config_reloads_are_counted(config_dir: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, GATEWAY_SIMULATE=True, GATEWAY_CONFIG_DIR=config_dir
    )
    gw = build_gateway(settings)
    await reload_files(gw, force=False)
    os.replace(config_dir.parent / "broken.yaml", config_dir / "model_policies.yaml")
    with pytest.raises(GatewayError):
        await reload_files(gw, force=False)
    got = samples(gw.metrics.exposition())
    assert got[("llm_gateway_config_reloads_total", (("result", "ok"),))] == 1
    assert got[("llm_gateway_config_reloads_total", (("result", "failed"),))] == 1
    versions = [labels for (n, labels), _ in got.items() if n == "llm_gateway_config_info"]
    assert versions == [(("version", gw.registry.version),)]
