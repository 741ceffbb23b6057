"""Fixtures: a scriptable local upstream, providers pointed at it, and attempt requests.

Every test that builds a provider through ``provider_for`` (or takes ``transport``) runs once per
transport: the native httptools transport and the aiohttp one (the proxy path)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr
from tests.providers.upstream import Handler, Upstream

from llm_gateway.model_policy import CostTier, Deadlines, ModelPolicy
from llm_gateway.providers.base import ProviderRequest
from llm_gateway.providers.openai_compatible import Endpoint, OpenAICompatibleProvider
from llm_gateway.providers.transport import TransportKind

API_KEY = "sk-test-SECRET-0123456789abcdef"

POLICY = ModelPolicy(
    logical_id="test-model",
    provider="test",
    provider_model_id="vendor/test-model",
    capabilities=frozenset(),
    cost_tier=CostTier.LOW,
    context_window=8000,
    input_cost_per_1k=Decimal("0.001"),
    output_cost_per_1k=Decimal("0.002"),
)


def make_request(
    body: dict[str, Any] | None = None,
    *,
    stream: bool = False,
    headers_s: float = 0.5,
    first_token_s: float = 0.5,
    stall_s: float = 0.5,
    total_s: float = 5.0,
    extra_headers: dict[str, str] | None = None,
) -> ProviderRequest:
    """An attempt with small deadlines; ``body`` defaults to a one-message chat."""
    payload = body or {
        "model": "vendor/test-model",
        "messages": [{"role": "user", "content": "hi"}],
    }
    if stream:
        payload = {**payload, "stream": True}
    return ProviderRequest(
        body=payload,
        policy=POLICY,
        deadlines=Deadlines(
            headers_s=headers_s, first_token_s=first_token_s, stall_s=stall_s, total_s=total_s
        ),
        deadline_at=time.monotonic() + total_s,
        extra_headers=extra_headers or {},
    )


StartUpstream = Callable[[Handler], Awaitable[Upstream]]


@pytest.fixture
async def upstream() -> AsyncIterator[StartUpstream]:
    """``await upstream(handler)`` starts a server; all are closed after the test."""
    servers: list[Upstream] = []

    async def start(handler: Handler) -> Upstream:
        server = await Upstream(handler).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


MakeProvider = Callable[..., OpenAICompatibleProvider]


@pytest.fixture(params=["native", "aiohttp"])
def transport(request: pytest.FixtureRequest) -> TransportKind:
    """The transport under test (both run the same provider tests)."""
    kind: TransportKind = request.param
    return kind


@pytest.fixture
async def provider_for(transport: TransportKind) -> AsyncIterator[MakeProvider]:
    """``provider_for(upstream, **endpoint_fields)``; every provider is closed after the test."""
    providers: list[OpenAICompatibleProvider] = []

    def make(server: Upstream, **fields: Any) -> OpenAICompatibleProvider:
        fields.setdefault("api_key", SecretStr(API_KEY))
        endpoint = Endpoint(name="test", base_url=server.url, **fields)
        provider = OpenAICompatibleProvider(endpoint, transport=transport)
        providers.append(provider)
        return provider

    yield make
    for provider in providers:
        await provider.close()
