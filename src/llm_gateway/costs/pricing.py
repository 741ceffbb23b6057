"""Prices of a set of tokens on a model, and the money formatting of the report. Pure."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

from llm_gateway.costs.ledger_sums import TokenSums
from llm_gateway.model_policy import ModelPolicy

_THOUSAND = Decimal(1000)
_WIDE = Context(prec=60)
_QUANTUM = Decimal("1E-10")


def cost_of(tokens: TokenSums, policy: ModelPolicy) -> Decimal:
    """What ``tokens`` cost at ``policy``'s list prices, exactly, the way
    :func:`llm_gateway.cost.compute_cost` prices one answer (cached input at the cached price,
    reasoning at the reasoning price, each falling back to the plain price)."""
    cached = policy.cached_input_cost_per_1k
    reasoning = policy.reasoning_cost_per_1k
    return (
        tokens.uncached_input * policy.input_cost_per_1k
        + tokens.cached_input * (policy.input_cost_per_1k if cached is None else cached)
        + tokens.visible_output * policy.output_cost_per_1k
        + tokens.reasoning * (policy.output_cost_per_1k if reasoning is None else reasoning)
    ) / _THOUSAND


def usd(amount: Decimal) -> str:
    """A plain decimal string rounded to 1e-10 USD (the gateway's display precision)."""
    rounded = amount.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN, context=_WIDE)
    return f"{rounded.normalize(_WIDE):f}"


def pct(part: Decimal, whole: Decimal) -> float | None:
    """``part`` as a percentage of ``whole`` to 2 decimals; None when ``whole`` is 0."""
    if whole <= 0:
        return None
    return float((part * 100 / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))
