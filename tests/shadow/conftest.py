"""A simulator where v2 is slow: every model answers after ``V2_DELAY_S`` but the legacy (v1)
model, which answers at once; an in-process gateway on it with a SQLite record store, installed
as the process's gateway; shadow settings through the environment (as an operator sets them).

Everything runs on the node clients' background loop (the gateway, its record writer, the
admin API through an ASGI transport), as it does for legacy code in a worker process.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.http.conftest import make_settings

from llm_gateway.gateway import LLMGateway, build_gateway, set_llm_gateway
from llm_gateway.node_integration.loop_thread import background_loop
from llm_gateway.rollout.shadow import ShadowRunner, shadow_runner
from llm_gateway.routes.deps import reset_process_services
from llm_gateway.settings import reset_settings_cache
from llm_gateway.simulator.testing import SimulatorHandle, run_simulator
from llm_gateway.storage.runtime import GatewayRecords

V1_MODEL = "gpt-4o-mini"  # not creative_writing: the writer node's v2 never picks it
V1_PROVIDER_MODEL = "openai/gpt-4o-mini"
V2_DELAY_S = 3.0


def scenario(v2_delay_s: float = V2_DELAY_S) -> dict[str, Any]:
    return {
        "models": {
            "*": {"ttft_s": v2_delay_s, "tokens_per_s": 100_000},
            V1_PROVIDER_MODEL: {"ttft_s": 0, "tokens_per_s": 100_000},
        }
    }


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorHandle]:
    with run_simulator(scenario()) as handle:
        yield handle


@pytest.fixture
def sim(simulator: SimulatorHandle) -> Iterator[SimulatorHandle]:
    simulator.set_scenario(scenario())
    simulator.clear()
    yield simulator


@pytest.fixture
def shadow_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``shadow_env(NAME=value, ...)`` sets process settings (and re-reads them)."""
    for name in ("GATEWAY_V2_ENABLED", "ENABLE_GATEWAY_V2", "GATEWAY_URL"):
        monkeypatch.delenv(name, raising=False)

    def apply(**values: Any) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))
        reset_settings_cache()

    apply(GATEWAY_V2_SHADOW_PERCENTAGE=0)
    yield apply
    monkeypatch.undo()
    reset_settings_cache()


@pytest.fixture
def gateway(sim: SimulatorHandle, tmp_path: Path, shadow_env: Any) -> Iterator[LLMGateway]:
    settings = make_settings(
        tmp_path,
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY="sk-or-shadow-0000",
        OPENROUTER_BASE_URL=sim.base_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'records.db'}",
        GATEWAY_LEDGER_SPOOL_DIR=tmp_path / "spool",
        GATEWAY_RETRY_DELAY=0.0,
    )
    loop = background_loop()
    live = build_gateway(settings)
    records = loop.run(GatewayRecords.open(settings))
    live.attach_records(records)
    set_llm_gateway(live)
    yield live
    loop.run(shadow_runner(live).drain(timeout_s=V2_DELAY_S * 3))
    loop.run(records.aclose())
    loop.run(live.aclose())
    set_llm_gateway(None)
    reset_process_services()


@pytest.fixture
def runner(gateway: LLMGateway) -> ShadowRunner:
    return shadow_runner(gateway)


def drain(runner: ShadowRunner) -> None:
    background_loop().run(runner.drain(timeout_s=V2_DELAY_S * 3))
