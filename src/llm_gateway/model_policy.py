"""Model policies: what each logical model is, what it can do and what it costs.

``get_model_policy_registry()`` returns the process's registry. The registry holds an immutable
:class:`~llm_gateway.config.catalog.Catalog` snapshot; ``reload()`` builds a new one from the files
and swaps it in a single assignment, keeping the last good snapshot when the files are invalid.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from llm_gateway.errors import ConfigError, ConfigIssue, NotFound


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
        if not isinstance(other, CostTier):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, CostTier):
            return NotImplemented
        return self.rank < other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, CostTier):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, CostTier):
            return NotImplemented
        return self.rank > other.rank


_TIER_RANK = {CostTier.LOW: 0, CostTier.MEDIUM: 1, CostTier.HIGH: 2, CostTier.PREMIUM: 3}


class Deadlines(BaseModel):
    """Time limits for one attempt, in seconds. ``None`` fields inherit from the next level."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    headers_s: float | None = Field(default=None, gt=0)
    first_token_s: float | None = Field(default=None, gt=0)
    stall_s: float | None = Field(default=None, gt=0)
    total_s: float | None = Field(default=None, gt=0)

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
        base = {
            CostTier.LOW: 0.55,
            CostTier.MEDIUM: 0.7,
            CostTier.HIGH: 0.82,
            CostTier.PREMIUM: 0.9,
        }
        bonus = 0.03 * len(self.capabilities & _QUALITY_CAPABILITIES)
        return min(1.0, base[self.cost_tier] + bonus)


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
    description: str = ""

    @property
    def hard_capabilities(self) -> frozenset[Capability]:
        """Required capabilities, with ``reasoning`` added when ``reasoning_required``."""
        if self.reasoning_required:
            return self.required_capabilities | {Capability.REASONING}
        return self.required_capabilities


class ModelPolicyRegistry:
    """The process's view of the catalogue: an atomically swapped, immutable snapshot."""

    def __init__(self, config_dir: Path | None = None) -> None:
        from llm_gateway.config.loader import load_catalog

        self._config_dir = config_dir
        self._lock = threading.Lock()
        self._catalog = load_catalog(config_dir)
        self._listeners: list[Callable[[Any], None]] = []

    @property
    def catalog(self) -> Any:
        """The current :class:`Catalog` snapshot (never mutated; replaced on reload)."""
        return self._catalog

    @property
    def config_dir(self) -> Path:
        return self._catalog.config_dir  # type: ignore[no-any-return]

    @property
    def version(self) -> str:
        """A digest of the loaded files; changes whenever the snapshot does."""
        return self._catalog.version  # type: ignore[no-any-return]

    def get_all_policies(self) -> Mapping[str, ModelPolicy]:
        """Every model of the catalogue, keyed by logical id."""
        return self._catalog.policies  # type: ignore[no-any-return]

    def get_policy(self, logical_id: str) -> ModelPolicy:
        try:
            return self._catalog.policies[logical_id]  # type: ignore[no-any-return]
        except KeyError:
            raise NotFound(f"unknown model '{logical_id}'", param="model") from None

    def find_policy(self, logical_id: str) -> ModelPolicy | None:
        return self._catalog.policies.get(logical_id)  # type: ignore[no-any-return]

    def get_all_nodes(self) -> Mapping[str, NodeRequirements]:
        return self._catalog.nodes  # type: ignore[no-any-return]

    def get_node(self, node_name: str) -> NodeRequirements | None:
        """The node's declared requirements, or the closest family entry (``search_*``)."""
        return self._catalog.node_requirements(node_name)  # type: ignore[no-any-return]

    def filter_policies(
        self,
        *,
        capabilities: Iterable[Capability | str] = (),
        max_cost_tier: CostTier | None = None,
        min_context_window: int = 0,
    ) -> list[ModelPolicy]:
        """Models having every capability, within the tier and at least the context window."""
        wanted = {Capability(c) for c in capabilities}
        return [
            p
            for p in self._catalog.policies.values()
            if wanted <= p.capabilities
            and (max_cost_tier is None or p.cost_tier <= max_cost_tier)
            and p.context_window >= min_context_window
        ]

    def fallback_chain(self, logical_id: str) -> tuple[str, ...]:
        """The model's fallbacks expanded breadth-first, without repeats or loops."""
        return self._catalog.expand_fallbacks(logical_id)  # type: ignore[no-any-return]

    def subscribe(self, listener: Callable[[Any], None]) -> None:
        """Call ``listener(catalog)`` after every successful reload."""
        self._listeners.append(listener)

    def reload(self) -> list[ConfigIssue]:
        """Re-read the files. Returns ``[]`` on success, else every issue (old snapshot kept)."""
        from llm_gateway.config.loader import load_catalog

        try:
            catalog = load_catalog(self._config_dir)
        except ConfigError as exc:
            return exc.issues
        with self._lock:
            self._catalog = catalog
        for listener in list(self._listeners):
            listener(catalog)
        return []


_registry: ModelPolicyRegistry | None = None


def get_model_policy_registry() -> ModelPolicyRegistry:
    """The process's registry, loaded on first use from the configured directory."""
    global _registry
    if _registry is None:
        from llm_gateway.settings import get_settings

        _registry = ModelPolicyRegistry(get_settings().config_dir)
    return _registry


def set_model_policy_registry(registry: ModelPolicyRegistry | None) -> None:
    """Install (or with ``None``, forget) the process's registry; used by the app and tests."""
    global _registry
    _registry = registry
