"""Capability-aware model selection.

``await get_model_selector().select_model(SelectionContext(...))`` returns a
:class:`SelectionResult`: the primary model, the ordered fallback chain, every eligible model's
score breakdown, readable reasons and, for every rejected model, why. Hard constraints come from
the node's entry in ``node_requirements.yaml`` merged with the context (the context may add
requirements, never loosen the node's) and are never violated; when nothing qualifies
:class:`~llm_gateway.errors.NoEligibleModel` lists each model and the constraint it failed.

The procedure itself is pure (:mod:`llm_gateway.selection.choose`); this module adds the process
singleton and a cache keyed on exactly what the choice depends on: the catalogue version, the
signals version (overrides, disabled models, circuit state, published performance) and the
context without its trace id.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from types import MappingProxyType
from typing import Any

from llm_gateway.config.catalog import Catalog
from llm_gateway.model_policy import (
    ModelPolicyRegistry,
    NodeRequirements,
    get_model_policy_registry,
)
from llm_gateway.selection.choose import DEFAULT_INPUT_TOKENS, DEFAULT_OUTPUT_TOKENS, MAX_FALLBACKS
from llm_gateway.selection.choose import select as choose
from llm_gateway.selection.constraints import hard_constraint_failures, merge_requirements
from llm_gateway.selection.context import SelectionContext, SelectionResult
from llm_gateway.selection.recommendations import recommendations
from llm_gateway.selection.scoring import SelectionStrategy
from llm_gateway.selection.signals import (
    InMemorySignals,
    ModelStats,
    Override,
    SelectionSignals,
    SignalsSnapshot,
)
from llm_gateway.settings import get_settings

__all__ = [
    "DEFAULT_INPUT_TOKENS",
    "DEFAULT_OUTPUT_TOKENS",
    "MAX_FALLBACKS",
    "ModelSelector",
    "Override",
    "SelectionContext",
    "SelectionResult",
    "SelectionStrategy",
    "get_model_selector",
    "hard_constraint_failures",
    "merge_requirements",
    "set_model_selector",
]


class ModelSelector:
    """Picks a primary model and a fallback chain for a context. Thread-safe, cached (LRU)."""

    def __init__(
        self,
        registry: ModelPolicyRegistry,
        signals: SelectionSignals | None = None,
        *,
        cache_size: int = 8192,
    ) -> None:
        self.registry = registry
        self.signals: SelectionSignals = signals if signals is not None else InMemorySignals()
        self._cache: OrderedDict[tuple[Any, ...], SelectionResult] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        # Outside a serving process: read observed performance from the record store here.
        self.reader_url: str | None = None

    async def select_model(self, context: SelectionContext) -> SelectionResult:
        """Async form of :meth:`select` (the guide's API); selection never waits on I/O."""
        return self.select(context)

    def select(self, context: SelectionContext) -> SelectionResult:
        """Choose for ``context``.

        Raises NoEligibleModel (every model and why it was rejected), NotFound (unknown
        ``requested_model``) or InvalidRequest (unknown capability, tier or strategy name).
        """
        catalog: Catalog = self.registry.catalog
        signals = self.signals.snapshot()
        key = (catalog.version, signals.version, context.cache_key())
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
        if cached is None:
            cached = choose(catalog, signals, context)
            with self._lock:
                self._cache[key] = cached
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        if cached.trace_id != context.trace_id:
            return cached.with_trace_id(context.trace_id)
        return cached

    def requirements_for(self, context: SelectionContext) -> NodeRequirements:
        """The node's requirements merged with ``context`` (what selection enforces)."""
        return merge_requirements(self.registry.catalog, context)

    async def get_model_recommendations(self, node_name: str) -> dict[str, Any]:
        """Ranked options for a node with estimated cost per 1k requests, the pick of each
        strategy and ``performance_data`` (observed where available, else declared)."""
        snapshot = self.signals.snapshot()
        if self.reader_url is not None and not snapshot.stats:
            snapshot = await _with_stored_observations(snapshot, self.reader_url)
        return recommendations(self.registry.catalog, snapshot, node_name)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    @property
    def cached_count(self) -> int:
        """Number of cached results (bounded by the constructor's ``cache_size``)."""
        return len(self._cache)


OBSERVATION_WINDOW_HOURS = 24.0


async def _with_stored_observations(snapshot: SignalsSnapshot, url: str) -> SignalsSnapshot:
    """This process has seen nothing: take the serving gateway's observations from the store."""
    from llm_gateway.storage.reader import read_model_observations

    observed = await read_model_observations(url, OBSERVATION_WINDOW_HOURS)
    if not observed:
        return snapshot
    stats = {
        model: ModelStats(
            latency_ms=seen["latency_ms"],
            error_rate=seen["errors"] / seen["samples"],
            samples=int(seen["samples"]),
            successes=int(seen["samples"] - seen["errors"]),
        )
        for model, seen in observed.items()
        if seen["samples"] > 0
    }
    return dataclasses.replace(snapshot, stats=MappingProxyType(stats))


_selector: ModelSelector | None = None
_selector_lock = threading.Lock()


def get_model_selector() -> ModelSelector:
    """The process's selector over the process's registry, with in-memory signals."""
    global _selector
    if _selector is None:
        with _selector_lock:
            if _selector is None:
                selector = ModelSelector(get_model_policy_registry())
                selector.reader_url = get_settings().database_url
                _selector = selector
    return _selector


def set_model_selector(selector: ModelSelector | None) -> None:
    """Install (or with ``None``, forget) the process's selector; used by the app and tests."""
    global _selector
    _selector = selector
