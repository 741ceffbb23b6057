"""The provider registry: kinds dispatched through the factory dict, lazy creation once per name,
keys read from the environment at creation, the simulator standing in for OpenRouter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from tests.providers.conftest import StartUpstream, make_request
from tests.providers.upstream import Request, response

from llm_gateway.config.catalog import Catalog, ProviderConfig
from llm_gateway.errors import ConfigError, ProviderAuthError
from llm_gateway.providers.base import Provider
from llm_gateway.providers.openai_compatible import OpenAICompatibleProvider
from llm_gateway.providers.registry import FACTORIES, ProviderRegistry
from llm_gateway.settings import Settings

COMPLETION = {
    "id": "x",
    "choices": [{"index": 0, "message": {"content": "ok"}, "finish_reason": "stop"}],
}


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def catalog(**providers: ProviderConfig) -> Catalog:
    return Catalog(policies={}, nodes={}, providers=providers, config_dir=Path("."), version="t")


@pytest.fixture
async def registries() -> AsyncIterator[list[ProviderRegistry]]:
    made: list[ProviderRegistry] = []
    yield made
    for registry in made:
        await registry.close_all()


async def echo_upstream(upstream: StartUpstream):  # type: ignore[no-untyped-def]
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, COMPLETION))

    return await upstream(handler)


async def test_kinds_dispatch_and_each_name_is_created_once(
    upstream: StartUpstream, registries: list[ProviderRegistry], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await echo_upstream(upstream)
    monkeypatch.setenv("LOCAL_LLM_KEY", "local-key-123456")
    configs = {
        "local": ProviderConfig(
            "local", "openai_compatible", server.url, "LOCAL_LLM_KEY", {"X-Org": "acme"}, 8
        ),
        "openrouter": ProviderConfig("openrouter", "openrouter"),
    }
    registry = ProviderRegistry(
        catalog(**configs), settings(OPENROUTER_API_KEY="sk-or-v1-abcdef123456")
    )
    registries.append(registry)
    assert registry.instantiated() == {}
    local = registry.get("local")
    assert registry.get("local") is local
    assert isinstance(local, OpenAICompatibleProvider) and isinstance(local, Provider)
    assert local.endpoint.max_connections == 8
    openrouter = registry.get("openrouter")
    assert isinstance(openrouter, OpenAICompatibleProvider)
    assert openrouter.url == "https://openrouter.ai/api/v1/chat/completions"
    assert set(registry.instantiated()) == {"local", "openrouter"}
    assert registry.names == {"local", "openrouter"}


async def test_the_key_is_read_from_its_variable_once_at_creation(
    upstream: StartUpstream, registries: list[ProviderRegistry], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await echo_upstream(upstream)
    monkeypatch.setenv("LOCAL_LLM_KEY", "first-key-123456")
    config = ProviderConfig("local", "openai_compatible", server.url, "LOCAL_LLM_KEY")
    registry = ProviderRegistry({"local": config}, settings())
    registries.append(registry)
    provider = registry.get("local")
    monkeypatch.setenv("LOCAL_LLM_KEY", "second-key-123456")
    await provider.complete(make_request())
    assert server.requests[0].headers["authorization"] == "Bearer first-key-123456"
    assert "first-key" not in repr(provider) and "first-key" not in repr(registry)


async def test_a_missing_key_variable_is_an_auth_error_not_cached(
    registries: list[ProviderRegistry], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ABSENT_KEY_VAR", raising=False)
    config = ProviderConfig("p", "openai_compatible", "http://127.0.0.1:9/v1", "ABSENT_KEY_VAR")
    registry = ProviderRegistry({"p": config}, settings())
    registries.append(registry)
    with pytest.raises(ProviderAuthError, match="ABSENT_KEY_VAR"):
        registry.get("p")
    monkeypatch.setenv("ABSENT_KEY_VAR", "now-set-123456")
    assert isinstance(registry.get("p"), OpenAICompatibleProvider)


async def test_openrouter_without_a_key_and_without_the_simulator(
    registries: list[ProviderRegistry],
) -> None:
    registry = ProviderRegistry(
        {"openrouter": ProviderConfig("openrouter", "openrouter")}, settings(GATEWAY_SIMULATE=False)
    )
    registries.append(registry)
    with pytest.raises(ProviderAuthError, match="OPENROUTER_API_KEY"):
        registry.get("openrouter")


async def test_unknown_names_and_kinds_are_config_errors(
    registries: list[ProviderRegistry],
) -> None:
    registry = ProviderRegistry({"odd": ProviderConfig("odd", "carrier-pigeon")}, settings())
    registries.append(registry)
    with pytest.raises(ConfigError, match="unknown provider 'nope'"):
        registry.get("nope")
    with pytest.raises(ConfigError, match="unknown kind 'carrier-pigeon'"):
        registry.get("odd")


async def test_openai_compatible_needs_a_base_url(registries: list[ProviderRegistry]) -> None:
    registry = ProviderRegistry({"x": ProviderConfig("x", "openai_compatible")}, settings())
    registries.append(registry)
    with pytest.raises(ConfigError, match="base_url"):
        registry.get("x")


async def test_the_simulator_stands_in_for_openrouter(registries: list[ProviderRegistry]) -> None:
    configs = {
        "openrouter": ProviderConfig("openrouter", "openrouter"),
        "local": ProviderConfig("local", "openai_compatible", "http://127.0.0.1:9/v1"),
    }
    registry = ProviderRegistry(
        configs, settings(GATEWAY_SIMULATE=True, OPENROUTER_API_KEY=SecretStr("sk-or-v1-zzzz"))
    )
    registries.append(registry)
    assert registry.kind_of("openrouter") == "simulated"
    assert registry.kind_of("local") == "openai_compatible"
    provider = registry.get("openrouter")
    assert not isinstance(provider, OpenAICompatibleProvider)
    assert type(provider).__name__ == "SimulatedProvider" and isinstance(provider, Provider)


async def test_no_openrouter_key_is_a_missing_key_not_the_simulator(
    registries: list[ProviderRegistry], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOCAL_KEY", raising=False)
    configs = {
        "openrouter": ProviderConfig("openrouter", "openrouter"),
        "local": ProviderConfig("local", "openai_compatible", "http://127.0.0.1:9/v1", "LOCAL_KEY"),
        "keyless": ProviderConfig("keyless", "openai_compatible", "http://127.0.0.1:9/v1"),
    }
    registry = ProviderRegistry(configs, settings())
    registries.append(registry)
    assert registry.kind_of("openrouter") == "openrouter"
    missing = registry.missing_keys(["openrouter", "local", "keyless"])
    assert len(missing) == 2
    assert "OPENROUTER_API_KEY is not set" in missing[1]
    assert "LOCAL_KEY" in missing[0]
    assert registry.missing_keys(["keyless"]) == []
    simulated = ProviderRegistry(configs, settings(GATEWAY_SIMULATE=True))
    registries.append(simulated)
    assert simulated.missing_keys(["openrouter"]) == []


async def test_close_all_closes_pools_and_the_registry_recreates(
    upstream: StartUpstream, registries: list[ProviderRegistry]
) -> None:
    server = await echo_upstream(upstream)
    registry = ProviderRegistry(
        {"local": ProviderConfig("local", "openai_compatible", server.url)}, settings()
    )
    registries.append(registry)
    first = registry.get("local")
    await first.complete(make_request())
    await registry.close_all()
    assert registry.instantiated() == {}
    assert not (await first.health()).open_connections  # its pool is closed: none open
    second = registry.get("local")
    assert second is not first
    await second.complete(make_request())


async def test_reconfigure_replaces_only_changed_entries(
    upstream: StartUpstream, registries: list[ProviderRegistry]
) -> None:
    server = await echo_upstream(upstream)
    keep = ProviderConfig("keep", "openai_compatible", server.url)
    change = ProviderConfig("change", "openai_compatible", server.url)
    registry = ProviderRegistry({"keep": keep, "change": change}, settings())
    registries.append(registry)
    kept, changed = registry.get("keep"), registry.get("change")
    moved = ProviderConfig("change", "openai_compatible", server.url, max_connections=4)
    await registry.reconfigure({"keep": keep, "change": moved})
    assert registry.get("keep") is kept
    assert registry.get("change") is not changed


def test_the_factories_cover_every_kind_of_the_config_schema() -> None:
    from typing import get_args

    from llm_gateway.config.schema import ProviderKind

    assert set(FACTORIES) == set(get_args(ProviderKind))
