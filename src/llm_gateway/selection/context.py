"""What a caller asks the selector for (:class:`SelectionContext`) and what it gets back
(:class:`SelectionResult`). Plain frozen values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llm_gateway.model_policy import Capability, CostTier, ModelPolicy, NodeRequirements
from llm_gateway.selection.scoring import ScoreBreakdown, SelectionStrategy


@dataclass(frozen=True, slots=True)
class SelectionContext:
    """One selection request. Everything but ``node_name`` is optional.

    ``capabilities`` are *required* on top of the node's own; ``preferred_capabilities`` add to
    the node's preferences. ``min_context_window`` and ``max_cost_tier`` can only tighten the
    node's limits. ``estimated_input_tokens + estimated_output_tokens`` is a further context
    floor and sizes the expected cost; selection uses both estimates rounded *up* to
    :func:`round_up_tokens` (at most 12.5% more), which keeps the floor conservative and lets
    requests of similar size share a cached result. ``strategy`` overrides the node's
    ``default_strategy``. ``requested_model`` asks for one model by logical id (it must still
    satisfy the hard constraints). ``trace_id`` is carried into the result and never affects
    the choice.
    """

    node_name: str = "default"
    capabilities: Sequence[Capability | str] = ()
    preferred_capabilities: Sequence[Capability | str] = ()
    strategy: SelectionStrategy | str | None = None
    min_context_window: int = 0
    max_cost_tier: CostTier | str | None = None
    estimated_input_tokens: int | None = None
    estimated_output_tokens: int | None = None
    trace_id: str | None = None
    requested_model: str | None = None

    def cache_key(self) -> tuple[Any, ...]:
        """Everything that can change the choice (so: not ``trace_id``)."""
        return (
            self.node_name,
            _as_set(self.capabilities),
            _as_set(self.preferred_capabilities),
            _lower(self.strategy),
            self.min_context_window,
            _upper(self.max_cost_tier),
            *self.planned_tokens,
            self.requested_model,
        )

    @property
    def planned_tokens(self) -> tuple[int | None, int | None]:
        """The input and output estimates as selection uses them (rounded up)."""
        return round_up_tokens(self.estimated_input_tokens), round_up_tokens(
            self.estimated_output_tokens
        )

    @property
    def token_floor(self) -> int:
        """The context window a request of the estimated size needs (0 when not estimated)."""
        planned_in, planned_out = self.planned_tokens
        return (planned_in or 0) + (planned_out or 0)


def round_up_tokens(tokens: int | None) -> int | None:
    """``tokens`` rounded up to 4 significant bits (exact below 16; never more than 12.5%
    above): 1000 → 1024, 33000 → 34816. ``None`` stays ``None``; negatives become 0."""
    if tokens is None:
        return None
    if tokens <= 0:
        return 0
    shift = tokens.bit_length() - 4
    if shift <= 0:
        return tokens
    step = 1 << shift
    return -(-tokens // step) * step


def _as_set(values: Sequence[Capability | str] | str) -> frozenset[str]:
    if isinstance(values, str):
        values = [values]
    return frozenset(str(v).lower() for v in values)


def _lower(value: str | None) -> str | None:
    return None if value is None else str(value).lower()


def _upper(value: str | None) -> str | None:
    return None if value is None else str(value).upper()


@dataclass(frozen=True, slots=True)
class SelectionResult:
    """The choice.

    ``selected_model`` is the primary; ``fallback_chain`` the logical ids to try after it, in
    order; ``candidates`` is ``(selected_model, *fallbacks)`` as policies. ``scores`` has the
    breakdown of every eligible model, ``rejected`` why every other model was excluded, and
    ``demoted`` the eligible models whose circuit is open (they come last in the chain).
    """

    selected_model: ModelPolicy
    fallback_chain: tuple[str, ...]
    candidates: tuple[ModelPolicy, ...]
    strategy: SelectionStrategy
    node_name: str
    reasons: tuple[str, ...]
    scores: Mapping[str, ScoreBreakdown]
    rejected: Mapping[str, tuple[str, ...]]
    requirements: NodeRequirements
    override: str | None = None
    config_version: str = ""
    trace_id: str | None = field(default=None, compare=False)
    demoted: frozenset[str] = frozenset()
    source: str = "score"
    """Why the primary was chosen: ``requested``, ``override``, ``node_default`` or ``score``."""

    def with_trace_id(self, trace_id: str | None) -> SelectionResult:
        """The same choice carrying another request's trace id (a cached result is shared by
        every request with the same context). A slot-by-slot copy: several times cheaper than
        ``dataclasses.replace``, which re-runs ``__init__``."""
        clone = object.__new__(SelectionResult)
        for name in _RESULT_FIELDS:
            object.__setattr__(clone, name, getattr(self, name))
        object.__setattr__(clone, "trace_id", trace_id)
        return clone

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view for the admin API and the CLI."""
        req = self.requirements
        return {
            "node_name": self.node_name,
            "selected_model": self.selected_model.logical_id,
            "provider": self.selected_model.provider,
            "provider_model_id": self.selected_model.provider_model_id,
            "fallback_chain": list(self.fallback_chain),
            "strategy": self.strategy.value,
            "source": self.source,
            "override": self.override,
            "reasons": list(self.reasons),
            "scores": {lid: s.as_dict() for lid, s in self.scores.items()},
            "rejected": {lid: list(why) for lid, why in self.rejected.items()},
            "demoted": sorted(self.demoted),
            "requirements": {
                "required_capabilities": sorted(req.hard_capabilities),
                "preferred_capabilities": sorted(req.preferred_capabilities),
                "min_context_window": req.min_context_window,
                "max_cost_tier": req.max_cost_tier.value,
                "reasoning_required": req.reasoning_required,
            },
            "config_version": self.config_version,
            "trace_id": self.trace_id,
        }


_RESULT_FIELDS = tuple(SelectionResult.__dataclass_fields__)
