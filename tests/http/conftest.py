"""Fixtures for the HTTP service: settings, a gateway on the in-process simulated provider, the
app, an in-process client (lifespan run, no socket) and the app served by uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.gateway import LLMGateway, build_gateway, set_llm_gateway
from llm_gateway.providers.simulated import SimulatedProvider
from llm_gateway.routes.deps import reset_process_services
from llm_gateway.settings import Settings

ADMIN_TOKEN = "test-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class SimulatedProviders:
    """Every policy's provider is one in-process simulated provider (zero latency by default)."""

    def __init__(self, scenario: Any = None, *, zero_latency: bool = True) -> None:
        self.provider = SimulatedProvider(scenario, zero_latency=zero_latency)

    def get(self, name: str) -> SimulatedProvider:
        return self.provider

    def instantiated(self) -> dict[str, SimulatedProvider]:
        return {"simulated": self.provider}

    async def close_all(self) -> None:
        await self.provider.close()


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN,
        "GATEWAY_AUDIT_LOG_FILE": tmp_path / "audit.jsonl",
        "GATEWAY_SIMULATE": True,
        "GATEWAY_RETRY_DELAY": 0.0,
        "GATEWAY_API_KEYS": None,
        "GATEWAY_API_KEYS_FILE": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def providers() -> SimulatedProviders:
    return SimulatedProviders()


@pytest.fixture
def gateway(settings: Settings, providers: SimulatedProviders) -> Iterator[LLMGateway]:
    gateway = build_gateway(settings, providers=providers)
    yield gateway
    set_llm_gateway(None)
    reset_process_services()


@pytest.fixture
def app(settings: Settings, gateway: LLMGateway) -> FastAPI:
    return create_app(settings, gateway=gateway)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """In-process client; the app's lifespan runs around it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
            yield c


@pytest.fixture
def served(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1; yields the base URL."""
    with serve(app) as (base_url, _server):
        yield base_url
