"""A simulator, a gateway on it (OpenRouter provider over loopback HTTP) and that gateway served
by uvicorn — shared by a module's tests (the standard suites run ~150 requests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.http.conftest import make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.gateway import LLMGateway, build_gateway, set_llm_gateway
from llm_gateway.node_integration import set_node_client_factory
from llm_gateway.node_integration.loop_thread import background_loop
from llm_gateway.routes.deps import reset_process_services
from llm_gateway.settings import Settings
from llm_gateway.simulator.testing import SimulatorHandle, run_simulator

# What the standard suites' prompts ask for, scripted (the simulator does not read prompts):
# "What is the value of magic_function(3)?" → {"input": 3}.
SCENARIO: dict[str, Any] = {
    "zero_latency": True,
    "answer": {"tool_arguments": {"magic_function": {"input": 3}}},
}


@pytest.fixture(scope="module")
def module_simulator() -> Iterator[SimulatorHandle]:
    with run_simulator(SCENARIO) as handle:
        yield handle


@pytest.fixture(scope="module")
def gateway_settings(
    module_simulator: SimulatorHandle, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return make_settings(
        tmp_path_factory.mktemp("gateway"),
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY="sk-or-node-clients-0000",
        OPENROUTER_BASE_URL=module_simulator.base_url,
        DATABASE_URL="",
    )


@pytest.fixture(scope="module")
def inprocess_gateway(gateway_settings: Settings) -> Iterator[LLMGateway]:
    gateway = build_gateway(gateway_settings)
    yield gateway
    background_loop().run(gateway.aclose())


@pytest.fixture
def process_gateway(inprocess_gateway: LLMGateway) -> Iterator[LLMGateway]:
    """The module's gateway installed as the process's (what ``get_llm_gateway()`` returns)."""
    set_llm_gateway(inprocess_gateway)
    set_node_client_factory(None)
    yield inprocess_gateway
    set_llm_gateway(None)
    set_node_client_factory(None)


@pytest.fixture(scope="module")
def served_gateway(gateway_settings: Settings) -> Iterator[str]:
    """The gateway served on 127.0.0.1 (its own gateway, built by the app's lifespan)."""
    with serve(create_app(gateway_settings)) as (base_url, _server):
        yield base_url
    set_llm_gateway(None)
    reset_process_services()


@pytest.fixture
def no_gateway_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_URL", raising=False)
    monkeypatch.delenv("GATEWAY_API_KEY", raising=False)
