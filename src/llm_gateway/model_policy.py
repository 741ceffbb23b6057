"""Model policies: what each logical model is, what it can do and what it costs.

``get_model_policy_registry()`` returns the process's registry. The registry holds an immutable
:class:`~llm_gateway.config.catalog.Catalog` snapshot; ``reload()`` builds a new one from the files
and swaps it in a single assignment, keeping the last good snapshot when the files are invalid.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from llm_gateway.errors import ConfigError, ConfigIssue, NotFound, echo

if TYPE_CHECKING:
    from llm_gateway.config.catalog import Catalog

_log = logging.getLogger(__name__)


class Capability(StrEnum):
    """What a model can do. Names are the keys of ``capabilities:`` in ``model_policies.yaml``."""

    STREAMING = "streaming"
    FUNCTION_CALLING = "function_calling"
    LONG_CONTEXT = "long_context"
    CREATIVE_WRITING = "creative_writing"
    REASONING = "reasoning"
    WEB_SEARCH = "web_search"
    JSON_MODE = "json_mode"
    VISION = "vision"
    CODE = "code"
    FAST = "fast"
    PREFILL = "prefill"


class CostTier(StrEnum):
    """Price class of a model, ordered LOW < MEDIUM < HIGH < PREMIUM."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    PREMIUM = "PREMIUM"

    @property
    def rank(self) -> int:
        return _TIER_RANK[self]

    def __le__(self, other: object) -> bool:
        return self.rank <= _rank_of(other)

    def __lt__(self, other: object) -> bool:
        return self.rank < _rank_of(other)

    def __ge__(self, other: object) -> bool:
        return self.rank >= _rank_of(other)

    def __gt__(self, other: object) -> bool:
        return self.rank > _rank_of(other)

    # str's own hash and equality stay: CostTier.HIGH == "HIGH" and hashes like it.
    __hash__ = str.__hash__


def _rank_of(other: object) -> int:
    """Rank of a tier or a tier name; comparing with anything else is a TypeError (never the
    alphabetical order that str would silently use)."""
    if type(other) is CostTier:
        return _TIER_RANK[other]
    if isinstance(other, str):
        try:
            return _TIER_RANK[CostTier(other)]
        except ValueError:
            pass
    raise TypeError(f"cannot compare a cost tier with {other!r}")


_TIER_RANK = {CostTier.LOW: 0, CostTier.MEDIUM: 1, CostTier.HIGH: 2, CostTier.PREMIUM: 3}


class Deadlines(BaseModel):
    """Time limits for one attempt, in seconds. ``None`` fields inherit from the next level."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    headers_s: float | None = Field(default=None, gt=0, strict=True)
    first_token_s: float | None = Field(default=None, gt=0, strict=True)
    stall_s: float | None = Field(default=None, gt=0, strict=True)
    total_s: float | None = Field(default=None, gt=0, strict=True)

    def merged_over(self, base: Deadlines) -> Deadlines:
        """These deadlines, with unset fields taken from ``base``."""
        values = {
            name: getattr(self, name) if getattr(self, name) is not None else getattr(base, name)
            for name in type(self).model_fields
        }
        return Deadlines(**values)


DEFAULT_DEADLINES = Deadlines(headers_s=10.0, first_token_s=10.0, stall_s=10.0, total_s=120.0)


class ModelPolicy(BaseModel):
    """One logical model of the catalogue (an entry of ``policies:``), frozen."""

    model_config = ConfigDict(frozen=True)

    logical_id: str
    provider: str
    provider_model_id: str
    capabilities: frozenset[Capability]
    cost_tier: CostTier
    context_window: int
    input_cost_per_1k: Decimal
    output_cost_per_1k: Decimal
    fallback_models: tuple[str, ...] = ()
    cached_input_cost_per_1k: Decimal | None = None
    reasoning_cost_per_1k: Decimal | None = None
    max_output_tokens: int | None = None
    quality_score: float | None = None
    typical_latency_ms: float | None = None
    deadlines: Deadlines = Deadlines()
    enabled: bool = True
    description: str = ""
    rpm: int | None = None  # requests per minute of the provider model (limits/)
    tpm: int | None = None  # tokens per minute of the provider model

    def has(self, capability: Capability | str) -> bool:
        return Capability(capability) in self.capabilities

    def expected_cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        """Cost in USD of a request of that size at list prices."""
        return (
            self.input_cost_per_1k * input_tokens + self.output_cost_per_1k * output_tokens
        ) / 1000

    @property
    def effective_quality(self) -> float:
        """Declared quality, or one derived from tier and capabilities when none is declared."""
        if self.quality_score is not None:
            return self.quality_score
        bonus = 0.03 * len(self.capabilities & _QUALITY_CAPABILITIES)
        return min(1.0, _TIER_QUALITY[self.cost_tier] + bonus)


_TIER_QUALITY = {
    CostTier.LOW: 0.55,
    CostTier.MEDIUM: 0.7,
    CostTier.HIGH: 0.82,
    CostTier.PREMIUM: 0.9,
}
_QUALITY_CAPABILITIES = frozenset(
    {Capability.REASONING, Capability.LONG_CONTEXT, Capability.CREATIVE_WRITING}
)


class NodeRequirements(BaseModel):
    """What an agent node needs from a model (an entry of ``nodes:``), frozen."""

    model_config = ConfigDict(frozen=True)

    node_name: str
    required_capabilities: frozenset[Capability] = frozenset()
    preferred_capabilities: frozenset[Capability] = frozenset()
    min_context_window: int = 0
    max_cost_tier: CostTier = CostTier.PREMIUM
    reasoning_required: bool = False
    default_model: str | None = None
    default_strategy: str | None = None
    fallback_outside_requirements: bool = False
    fallback_on_content_filter: bool = False
    deadlines: Deadlines = Deadlines()
    cache_ttl_s: float | None = None  # ``cache: {ttl_s}``: deterministic answers are cached
    description: str = ""

    @property
    def hard_capabilities(self) -> frozenset[Capability]:
        """Required capabilities, with ``reasoning`` added when ``reasoning_required``."""
        if self.reasoning_required:
            return self.required_capabilities | {Capability.REASONING}
        return self.required_capabilities


class ModelPolicyRegistry:
    """The process's view of the catalogue: an atomically swapped, immutable snapshot.

    Readers take ``registry.catalog`` once and use that snapshot for the whole operation, so they
    never see half of an old catalogue and half of a new one. ``reload()`` never raises for
    invalid files: it returns their issues and keeps serving the last good snapshot.
    """

    def __init__(self, config_dir: Path | None = None, *, catalog: Catalog | None = None) -> None:
        """Load ``config_dir`` (raises ConfigError listing every issue), or adopt ``catalog``."""
        from llm_gateway.config.loader import load_catalog

        self._config_dir = config_dir
        self._lock = threading.Lock()
        self._catalog: Catalog = catalog if catalog is not None else load_catalog(config_dir)
        self._listeners: list[Callable[[Catalog], None]] = []

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> ModelPolicyRegistry:
        """A registry over an in-memory catalogue; ``reload()`` then re-reads its config_dir."""
        return cls(catalog.config_dir, catalog=catalog)

    @property
    def catalog(self) -> Catalog:
        """The current snapshot (never mutated; replaced on reload)."""
        return self._catalog

    @property
    def config_dir(self) -> Path:
        return self._catalog.config_dir

    @property
    def version(self) -> str:
        """A digest of the loaded files; changes whenever their content does."""
        return self._catalog.version

    def get_all_policies(self) -> Mapping[str, ModelPolicy]:
        """Every model of the catalogue, keyed by logical id (read-only mapping)."""
        return self._catalog.policies

    def get_policy(self, logical_id: str) -> ModelPolicy:
        """The model ``logical_id``; raises NotFound when the catalogue has no such model."""
        try:
            return self._catalog.policies[logical_id]
        except KeyError:
            raise NotFound(
                f"unknown model '{echo(logical_id)}'", param="model", code="model_not_found"
            ) from None

    def find_policy(self, logical_id: str) -> ModelPolicy | None:
        return self._catalog.policies.get(logical_id)

    def find_by_provider_model_id(self, provider_model_id: str) -> ModelPolicy | None:
        """The first model (in file order) whose ``provider_model_id`` is the one given."""
        for policy in self._catalog.policies.values():
            if policy.provider_model_id == provider_model_id:
                return policy
        return None

    def get_all_nodes(self) -> Mapping[str, NodeRequirements]:
        return self._catalog.nodes

    def get_node(self, node_name: str) -> NodeRequirements | None:
        """The node's declared requirements, or the closest family entry (``search_*``)."""
        return self._catalog.node_requirements(node_name)

    def filter_policies(
        self,
        *,
        capabilities: Iterable[Capability | str] = (),
        max_cost_tier: CostTier | str | None = None,
        min_context_window: int = 0,
        include_disabled: bool = False,
    ) -> list[ModelPolicy]:
        """Models having every capability, within the tier and at least the context window, in
        file order. Models with ``enabled: false`` are left out unless ``include_disabled``."""
        wanted = {Capability(c) for c in capabilities}
        tier = CostTier(max_cost_tier) if max_cost_tier is not None else None
        return [
            p
            for p in self._catalog.policies.values()
            if wanted <= p.capabilities
            and (tier is None or p.cost_tier <= tier)
            and p.context_window >= min_context_window
            and (include_disabled or p.enabled)
        ]

    def policies_with_capability(self, capability: Capability | str) -> list[ModelPolicy]:
        return self.filter_policies(capabilities=[capability])

    def policies_by_tier(self, tier: CostTier | str) -> list[ModelPolicy]:
        """Models of exactly this tier."""
        wanted = CostTier(tier)
        return [p for p in self._catalog.policies.values() if p.cost_tier == wanted]

    def fallback_chain(self, logical_id: str) -> tuple[str, ...]:
        """The model's fallbacks expanded breadth-first, without repeats or loops."""
        return self._catalog.expand_fallbacks(logical_id)

    def subscribe(self, listener: Callable[[Catalog], None]) -> Callable[[], None]:
        """Call ``listener(catalog)`` after every successful reload; returns an unsubscriber.
        A listener that raises is logged and does not stop the others."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def reload(self) -> list[ConfigIssue]:
        """Re-read the files. Returns ``[]`` on success, else every issue (old snapshot kept)."""
        from llm_gateway.config.loader import load_catalog

        try:
            catalog = load_catalog(self._config_dir)
        except ConfigError as exc:
            return exc.issues
        self.install(catalog)
        return []

    @property
    def reload_dir(self) -> Path | None:
        """The directory :meth:`reload` reads (None: the configured default)."""
        return self._config_dir

    def install(self, catalog: Catalog) -> None:
        """Swap in ``catalog`` (already parsed and checked) and tell the listeners."""
        with self._lock:
            self._catalog = catalog
        for listener in list(self._listeners):
            try:
                listener(catalog)
            except Exception:
                _log.exception("catalog reload listener %r failed", listener)


_registry: ModelPolicyRegistry | None = None
_registry_lock = threading.Lock()


def get_model_policy_registry() -> ModelPolicyRegistry:
    """The process's registry, loaded on first use from the configured directory.

    Raises ConfigError (every issue) when the files are invalid at first load."""
    global _registry
    if _registry is None:
        with _registry_lock:
            if _registry is None:
                from llm_gateway.settings import get_settings

                _registry = ModelPolicyRegistry(get_settings().config_dir)
    return _registry


def set_model_policy_registry(registry: ModelPolicyRegistry | None) -> None:
    """Install (or with ``None``, forget) the process's registry; used by the app and tests."""
    global _registry
    _registry = registry
