"""What one answer cost, in exact decimal USD.

Token accounting follows the OpenAI usage object, which OpenRouter returns unchanged:

- ``prompt_tokens_details.cached_tokens`` is a PART of ``prompt_tokens`` (e.g. xAI's documented
  example: prompt_tokens 125 with cached_tokens 98, total_tokens 173 = 125 + 48).
- ``completion_tokens_details.reasoning_tokens`` is a PART of ``completion_tokens``. OpenRouter:
  "Reasoning tokens are considered output tokens and charged accordingly"
  (https://openrouter.ai/docs/use-cases/reasoning-tokens); its usage-accounting example has
  total_tokens = prompt_tokens + completion_tokens with reasoning_tokens beside them in
  ``completion_tokens_details`` (https://openrouter.ai/docs/use-cases/usage-accounting); and the
  OpenAI API reference for ``CompletionTokensDetails`` says such detail tokens "are still counted
  in the total completion tokens for purposes of billing, output, and context window limits".

So each detail count is priced at its own rate and subtracted from its parent before the parent
is priced: nothing is billed twice. A detail count larger than its parent cannot be a part of it;
it is then taken as reported beside the parent (as some non-OpenAI upstreams do) and both are
billed, rather than billing a negative remainder.

Arithmetic is exact ``Decimal`` throughout; rounding happens only in :meth:`CostBreakdown.as_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal

from llm_gateway.model_policy import ModelPolicy
from llm_gateway.providers.base import Usage

_THOUSAND = Decimal(1000)
_ZERO = Decimal(0)
# Display precision: 1e-10 USD resolves one token of the cheapest priced models.
_DISPLAY_QUANTUM = Decimal("1E-10")


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """The cost of one answer and its parts, in USD.

    ``source`` is ``"provider"`` when the provider reported the total (``usage.cost``, e.g.
    OpenRouter), ``"policy"`` when the total is computed from the policy's list prices, and
    ``"none"`` when no usage was reported at all. The parts are always computed from list prices
    for information, so with a provider total they need not add up to ``total``.
    """

    total: Decimal
    input: Decimal
    cached_input: Decimal
    output: Decimal
    reasoning: Decimal
    source: str

    def as_dict(self) -> dict[str, str]:
        """Every amount as a plain decimal string rounded to 1e-10 USD, plus ``source``."""
        return {
            "total": _display(self.total),
            "input": _display(self.input),
            "cached_input": _display(self.cached_input),
            "output": _display(self.output),
            "reasoning": _display(self.reasoning),
            "source": self.source,
        }


ZERO_COST = CostBreakdown(
    total=_ZERO, input=_ZERO, cached_input=_ZERO, output=_ZERO, reasoning=_ZERO, source="none"
)


def compute_cost(usage: Usage | None, policy: ModelPolicy) -> CostBreakdown:
    """The cost of an answer with ``usage`` on the model ``policy``.

    ``usage.cost``, when present, is the total (the provider knows what it charged); the parts
    come from list prices either way. ``None`` usage (nothing reported) is :data:`ZERO_COST`.
    """
    if usage is None:
        return ZERO_COST
    cached, uncached = _split(usage.cached_prompt_tokens, usage.prompt_tokens)
    reasoning, visible = _split(usage.reasoning_tokens, usage.completion_tokens)
    parts = {
        "input": _priced(uncached, policy.input_cost_per_1k),
        "cached_input": _priced(
            cached, _or(policy.cached_input_cost_per_1k, policy.input_cost_per_1k)
        ),
        "output": _priced(visible, policy.output_cost_per_1k),
        "reasoning": _priced(
            reasoning, _or(policy.reasoning_cost_per_1k, policy.output_cost_per_1k)
        ),
    }
    if usage.cost is not None:
        return CostBreakdown(total=usage.cost, source="provider", **parts)
    return CostBreakdown(total=sum(parts.values(), _ZERO), source="policy", **parts)


def estimate_cost(policy: ModelPolicy, input_tokens: int, output_tokens: int) -> Decimal:
    """An upper estimate of a request's cost at list prices, for budget reservation.

    Every input token at the (uncached) input price and every output token at the dearer of the
    output and reasoning prices, so the settled cost at list prices never exceeds it.
    """
    output_price = policy.output_cost_per_1k
    if policy.reasoning_cost_per_1k is not None:
        output_price = max(output_price, policy.reasoning_cost_per_1k)
    return _priced(max(0, input_tokens), policy.input_cost_per_1k) + _priced(
        max(0, output_tokens), output_price
    )


def _split(part: int, whole: int) -> tuple[int, int]:
    """``(part, rest of whole)``; a part larger than its whole was reported beside it."""
    part, whole = max(0, part), max(0, whole)
    if part > whole:
        return part, whole
    return part, whole - part


def _priced(tokens: int, per_1k: Decimal) -> Decimal:
    return per_1k * tokens / _THOUSAND


def _or(price: Decimal | None, default: Decimal) -> Decimal:
    return default if price is None else price


# Wide precision so quantizing a large amount to 1e-10 cannot raise InvalidOperation; passed to
# each operation (a ``localcontext`` block per amount costs more than the rounding itself).
_WIDE = Context(prec=60)


def _display(amount: Decimal) -> str:
    rounded = amount.quantize(_DISPLAY_QUANTUM, rounding=ROUND_HALF_EVEN, context=_WIDE)
    return f"{rounded.normalize(_WIDE):f}"
