"""Providers by name: built lazily from the catalogue's ``providers`` and the settings.

A policy's ``provider`` field names an entry of ``Catalog.providers`` (``ProviderConfig``: kind,
base_url, api_key_env, headers, max_connections). The entry's ``kind`` picks a factory from
:data:`FACTORIES` — a dict, never an if/elif chain. Each provider is created once, on first use,
and reading its key happens then: the variable named by ``api_key_env`` is read once and held as
a ``SecretStr`` (an ``openrouter`` entry without one uses ``OPENROUTER_API_KEY``).

When ``settings.use_simulator`` is true (``GATEWAY_SIMULATE=true``, an explicit opt-in that
``make run`` makes when no key is set) every ``openrouter`` entry is served by the in-process
simulated provider instead. Without it, a missing key is never papered over:
:meth:`ProviderRegistry.missing_keys` names it (readiness and health report it, and
``GATEWAY_ENV=production`` refuses to start), and requests to that provider fail saying so.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

from pydantic import SecretStr

from llm_gateway.config.catalog import Catalog, ProviderConfig
from llm_gateway.errors import ConfigError, ConfigIssue, ProviderAuthError
from llm_gateway.providers.base import Provider
from llm_gateway.providers.openai_compatible import Endpoint, OpenAICompatibleProvider
from llm_gateway.providers.openrouter import create_openrouter_provider
from llm_gateway.redaction import register_secret
from llm_gateway.settings import Settings

ProviderFactory = Callable[[ProviderConfig, Settings], Provider]

POLICIES_FILE = "model_policies.yaml"


def api_key_of(config: ProviderConfig) -> SecretStr | None:
    """The key from the variable named by ``api_key_env``; None when the entry names none.

    Raises ProviderAuthError (the gateway falls back to another model) when the variable is
    named but not set: every request would be refused upstream anyway.
    """
    if not config.api_key_env:
        return None
    value = os.environ.get(config.api_key_env, "").strip()
    if not value:
        raise ProviderAuthError(
            f"provider {config.name}: environment variable {config.api_key_env} "
            "(its api_key_env) is not set",
            provider=config.name,
        )
    register_secret(value)
    return SecretStr(value)


def create_openai_compatible(config: ProviderConfig, settings: Settings) -> Provider:
    if not config.base_url:
        raise ConfigError(
            [
                ConfigIssue(
                    POLICIES_FILE,
                    f"providers.{config.name}.base_url",
                    "required for kind openai_compatible",
                )
            ]
        )
    endpoint = Endpoint(
        name=config.name,
        base_url=config.base_url,
        api_key=api_key_of(config),
        headers=dict(config.headers),
        max_connections=config.max_connections,
        max_body_bytes=settings.GATEWAY_MAX_UPSTREAM_BODY_BYTES,
    )
    return OpenAICompatibleProvider(endpoint)


def create_openrouter(config: ProviderConfig, settings: Settings) -> Provider:
    api_key = api_key_of(config) if config.api_key_env else settings.OPENROUTER_API_KEY
    if api_key is None:
        raise ProviderAuthError(
            f"provider {config.name}: OPENROUTER_API_KEY is not set (set it, or "
            "GATEWAY_SIMULATE=true for the built-in simulated provider)",
            provider=config.name,
        )
    return create_openrouter_provider(config, settings, api_key)


def create_simulated(config: ProviderConfig, settings: Settings) -> Provider:
    # Imported here: the simulator (scenarios, timelines) is only loaded when it is used.
    from llm_gateway.providers.simulated import SimulatedProvider

    return SimulatedProvider()


FACTORIES: Mapping[str, ProviderFactory] = MappingProxyType(
    {
        "openai_compatible": create_openai_compatible,
        "openrouter": create_openrouter,
        "simulated": create_simulated,
    }
)

_SIMULATOR_STANDS_IN_FOR = frozenset({"openrouter"})


class ProviderRegistry:
    """``get(name)`` → the provider of that catalogue entry, created once; ``close_all()``.

    ``providers`` is a Catalog (its ``providers`` mapping is used) or that mapping itself.
    ``factories`` defaults to :data:`FACTORIES` (tests may add a kind).
    """

    def __init__(
        self,
        providers: Catalog | Mapping[str, ProviderConfig],
        settings: Settings,
        *,
        factories: Mapping[str, ProviderFactory] = FACTORIES,
    ) -> None:
        self._configs = _configs_of(providers)
        self._settings = settings
        self._factories = factories
        self._instances: dict[str, Provider] = {}

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._configs)

    def kind_of(self, name: str) -> str:
        """The kind that serves ``name`` (``simulated`` when the simulator stands in)."""
        kind = self._config(name).kind
        if self._settings.use_simulator and kind in _SIMULATOR_STANDS_IN_FOR:
            return "simulated"
        return kind

    def get(self, name: str) -> Provider:
        """The provider of entry ``name``, created on first use.

        Raises ConfigError for an unknown name or kind, ProviderAuthError when its key is
        missing (not cached: the next call tries again).
        """
        provider = self._instances.get(name)
        if provider is None:
            provider = self._create(name)
            self._instances[name] = provider
        return provider

    def missing_keys(self, used: Iterable[str]) -> list[str]:
        """For each entry of ``used`` that needs a key it does not have, what is missing."""
        missing = []
        for name in sorted(set(used) & set(self._configs)):
            config = self._configs[name]
            kind = self.kind_of(name)
            try:
                key = api_key_of(config)
            except ProviderAuthError as exc:
                missing.append(exc.message)
                continue
            if kind == "openrouter" and key is None and self._settings.OPENROUTER_API_KEY is None:
                missing.append(
                    f"provider {name}: OPENROUTER_API_KEY is not set (set it, or "
                    "GATEWAY_SIMULATE=true for the built-in simulated provider)"
                )
        return missing

    def instantiated(self) -> dict[str, Provider]:
        """The providers created so far, by name (for health reports)."""
        return dict(self._instances)

    async def reconfigure(self, providers: Catalog | Mapping[str, ProviderConfig]) -> None:
        """Adopt a reloaded catalogue: providers whose entry changed or vanished are closed and
        rebuilt on next use; unchanged ones keep their pools."""
        configs = _configs_of(providers)
        stale = [n for n in self._instances if configs.get(n) != self._configs.get(n)]
        self._configs = configs
        for name in stale:
            await self._instances.pop(name).close()

    async def close_all(self) -> None:
        """Close every created provider (their pools); the registry can be used again after."""
        instances, self._instances = self._instances, {}
        for provider in instances.values():
            await provider.close()

    def _create(self, name: str) -> Provider:
        config = self._config(name)
        kind = self.kind_of(name)
        factory = self._factories.get(kind)
        if factory is None:
            known = ", ".join(sorted(self._factories))
            raise ConfigError(
                [
                    ConfigIssue(
                        POLICIES_FILE,
                        f"providers.{name}.kind",
                        f"unknown kind '{kind}' (known: {known})",
                    )
                ]
            )
        return factory(config, self._settings)

    def _config(self, name: str) -> ProviderConfig:
        config = self._configs.get(name)
        if config is None:
            known = ", ".join(sorted(self._configs))
            raise ConfigError(
                [
                    ConfigIssue(
                        POLICIES_FILE, "providers", f"unknown provider '{name}' (known: {known})"
                    )
                ]
            )
        return config

    def __repr__(self) -> str:
        return f"ProviderRegistry(names={sorted(self._configs)}, created={sorted(self._instances)})"


def _configs_of(providers: Catalog | Mapping[str, ProviderConfig]) -> dict[str, ProviderConfig]:
    mapping = providers.providers if isinstance(providers, Catalog) else providers
    return dict(mapping)
