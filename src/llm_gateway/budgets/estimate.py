"""What a request may cost, reserved before it is sent: its estimated input tokens plus its
``max_tokens`` — or, when it sets none, the output cap (the node's ``output_cap`` in
``budgets.yaml``, else ``default_output_tokens``), which is then also sent as its ``max_tokens``
so the estimate bounds what it can be billed — priced at the dearest model its chain can reach.
"""

from __future__ import annotations

from typing import Any

from llm_gateway.budgets.config import Budgets, to_units
from llm_gateway.cost import estimate_cost

_CACHE_LIMIT = 4096


class ReservationEstimator:
    """Estimates in nano-USD, cached per (chain, input tokens, output tokens)."""

    def __init__(self, *, fallbacks: bool = True) -> None:
        self.fallbacks = fallbacks  # False (GATEWAY_FALLBACK_ENABLED=false): the primary only
        self._cache: dict[tuple[int, int, int], tuple[Any, int]] = {}

    def reserve(self, plan: Any, budgets: Budgets, scopes: tuple[str, ...]) -> int:
        """The estimate for ``plan`` (whose request gets ``max_tokens`` when it has none)."""
        request = plan.request
        output = _requested_output(request)
        if output is None:
            output = _output_cap(plan, budgets)
            plan.request = {**request, "max_tokens": output}
        candidates = plan.selection.candidates
        key = (id(candidates), plan.input_tokens, output)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is candidates:
            return hit[1]
        units = max(
            to_units(
                estimate_cost(
                    policy,
                    plan.input_tokens,
                    min(output, policy.max_output_tokens or output),
                )
            )
            for policy in (candidates if self.fallbacks else candidates[:1])
        )
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = (candidates, max(1, units))
        return max(1, units)


def _requested_output(request: Any) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = request.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _output_cap(plan: Any, budgets: Budgets) -> int:
    node = budgets.scopes.get(f"node:{plan.route.node_label}")
    if node is not None and node.output_cap is not None:
        return node.output_cap
    return budgets.default_output_tokens


def answering_model(plan: Any) -> str | None:
    """The model the ledger row names: the one that answered, else the last one tried."""
    attempts = [a for a in plan.attempts if not a.skipped]
    for attempt in reversed(attempts):
        if attempt.ok:
            return str(attempt.model)
    return str(attempts[-1].model) if attempts else None
