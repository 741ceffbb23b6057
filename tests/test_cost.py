"""compute_cost / estimate_cost: exact Decimal arithmetic, cached and reasoning tokens, no double
count, provider-reported totals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_gateway.cost import ZERO_COST, CostBreakdown, compute_cost, estimate_cost
from llm_gateway.model_policy import Capability, CostTier, ModelPolicy
from llm_gateway.providers.base import Usage

D = Decimal


def policy(
    *,
    input_price: str = "0.003",
    output_price: str = "0.015",
    cached_price: str | None = None,
    reasoning_price: str | None = None,
) -> ModelPolicy:
    return ModelPolicy(
        logical_id="test-model",
        provider="openrouter",
        provider_model_id="vendor/test-model",
        capabilities=frozenset({Capability.STREAMING}),
        cost_tier=CostTier.HIGH,
        context_window=200_000,
        input_cost_per_1k=D(input_price),
        output_cost_per_1k=D(output_price),
        cached_input_cost_per_1k=D(cached_price) if cached_price is not None else None,
        reasoning_cost_per_1k=D(reasoning_price) if reasoning_price is not None else None,
    )


def test_policy_prices_for_plain_usage() -> None:
    cost = compute_cost(Usage(prompt_tokens=1000, completion_tokens=500), policy())
    assert cost == CostBreakdown(
        total=D("0.0105"),
        input=D("0.003"),
        cached_input=D(0),
        output=D("0.0075"),
        reasoning=D(0),
        source="policy",
    )


def test_provider_reported_cost_wins_and_parts_stay_informative() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=500, cost=D("0.0123"))
    cost = compute_cost(usage, policy())
    assert cost.total == D("0.0123")
    assert cost.source == "provider"
    assert (cost.input, cost.output) == (D("0.003"), D("0.0075"))


def test_provider_reported_zero_cost_is_a_real_total() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=500, cost=D(0))
    cost = compute_cost(usage, policy())
    assert (cost.total, cost.source) == (D(0), "provider")


def test_cached_tokens_are_part_of_the_prompt_and_billed_at_the_cached_price() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=0, cached_prompt_tokens=800)
    cost = compute_cost(usage, policy(cached_price="0.0003"))
    assert cost.input == D("0.0006")  # 200 uncached x 0.003 / 1k
    assert cost.cached_input == D("0.00024")  # 800 cached x 0.0003 / 1k
    assert cost.total == D("0.00084")


def test_cached_tokens_without_a_cached_price_cost_the_input_price() -> None:
    usage = Usage(prompt_tokens=1000, cached_prompt_tokens=800)
    cost = compute_cost(usage, policy())
    assert cost.total == compute_cost(Usage(prompt_tokens=1000), policy()).total == D("0.003")


def test_reasoning_tokens_are_part_of_completion_and_billed_at_the_reasoning_price() -> None:
    usage = Usage(prompt_tokens=0, completion_tokens=1000, reasoning_tokens=600)
    cost = compute_cost(usage, policy(reasoning_price="0.06"))
    assert cost.output == D("0.006")  # 400 visible x 0.015 / 1k
    assert cost.reasoning == D("0.036")  # 600 reasoning x 0.06 / 1k
    assert cost.total == D("0.042")


def test_reasoning_tokens_without_a_reasoning_price_are_not_double_counted() -> None:
    with_reasoning = Usage(prompt_tokens=100, completion_tokens=1000, reasoning_tokens=600)
    without = Usage(prompt_tokens=100, completion_tokens=1000)
    assert compute_cost(with_reasoning, policy()).total == compute_cost(without, policy()).total


def test_a_detail_count_above_its_parent_is_taken_as_reported_beside_it() -> None:
    usage = Usage(prompt_tokens=100, completion_tokens=50, reasoning_tokens=200)
    cost = compute_cost(usage, policy())
    assert cost.output == D("0.00075")  # 50 visible
    assert cost.reasoning == D("0.003")  # 200 reasoning, not a negative remainder
    assert cost.total == D("0.00405")  # 0.0003 input + 0.00075 output + 0.003 reasoning


def test_negative_counts_are_treated_as_zero() -> None:
    usage = Usage(prompt_tokens=-5, completion_tokens=-1, cached_prompt_tokens=-3)
    assert compute_cost(usage, policy()).total == D(0)


def test_zero_usage_costs_nothing_and_no_usage_is_zero_cost() -> None:
    zero = compute_cost(Usage(), policy())
    assert (zero.total, zero.source) == (D(0), "policy")
    assert compute_cost(None, policy()) is ZERO_COST
    assert ZERO_COST.source == "none"


def test_decimal_arithmetic_is_exact_for_large_odd_counts() -> None:
    usage = Usage(prompt_tokens=1_000_003, completion_tokens=1_000_003, cached_prompt_tokens=7)
    cost = compute_cost(
        usage, policy(input_price="0.00015", output_price="0.0006", cached_price="0.000075")
    )
    assert cost.input == D("0.1499994")  # 999_996 x 0.00015 / 1k
    assert cost.cached_input == D("0.000000525")  # 7 x 0.000075 / 1k
    assert cost.output == D("0.6000018")  # 1_000_003 x 0.0006 / 1k
    assert cost.total == D("0.750001725")
    assert str(cost.total) == "0.750001725"  # no binary-float residue anywhere


def test_as_dict_rounds_only_for_display() -> None:
    usage = Usage(prompt_tokens=1, completion_tokens=0)
    cost = compute_cost(usage, policy(input_price="0.0000123456789"))
    assert cost.input == D("0.0000000123456789")  # full precision kept
    assert cost.as_dict() == {
        "total": "0.0000000123",
        "input": "0.0000000123",
        "cached_input": "0",
        "output": "0",
        "reasoning": "0",
        "source": "policy",
    }


def test_as_dict_of_a_large_amount_is_plain_notation() -> None:
    cost = compute_cost(Usage(cost=D("12345678901234567890.5")), policy())
    assert cost.as_dict()["total"] == "12345678901234567890.5"


def test_estimate_is_uncached_input_plus_output_at_the_dearer_rate() -> None:
    assert estimate_cost(policy(), 1000, 500) == D("0.0105")
    assert estimate_cost(policy(reasoning_price="0.06"), 1000, 500) == D("0.033")
    assert estimate_cost(policy(reasoning_price="0.001"), 1000, 500) == D("0.0105")
    assert estimate_cost(policy(), -10, 0) == D(0)


token_counts = st.integers(min_value=0, max_value=5_000_000)
prices = st.decimals(min_value=0, max_value=D("0.1"), places=7)


@given(
    prompt=token_counts,
    completion=token_counts,
    cached_share=st.floats(min_value=0, max_value=1),
    reasoning_share=st.floats(min_value=0, max_value=1),
    input_price=prices,
    output_price=prices,
    cached_price=st.one_of(st.none(), prices),
    reasoning_price=st.one_of(st.none(), prices),
)
def test_policy_total_is_the_exact_sum_and_never_above_the_estimate(
    prompt: int,
    completion: int,
    cached_share: float,
    reasoning_share: float,
    input_price: Decimal,
    output_price: Decimal,
    cached_price: Decimal | None,
    reasoning_price: Decimal | None,
) -> None:
    cached = int(prompt * cached_share)
    reasoning = int(completion * reasoning_share)
    p = policy(
        input_price=str(input_price),
        output_price=str(output_price),
        cached_price=None if cached_price is None else str(cached_price),
        reasoning_price=None if reasoning_price is None else str(reasoning_price),
    )
    usage = Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_prompt_tokens=cached,
        reasoning_tokens=reasoning,
    )
    cost = compute_cost(usage, p)
    assert cost.total == cost.input + cost.cached_input + cost.output + cost.reasoning
    expected = (
        (prompt - cached) * input_price
        + cached * (input_price if cached_price is None else cached_price)
        + (completion - reasoning) * output_price
        + reasoning * (output_price if reasoning_price is None else reasoning_price)
    ) / 1000
    assert cost.total == expected
    if cached_price is None or cached_price <= input_price:
        assert cost.total <= estimate_cost(p, prompt, completion)


@pytest.mark.parametrize("field", ["total", "input", "cached_input", "output", "reasoning"])
def test_every_amount_is_a_decimal(field: str) -> None:
    usage = Usage(prompt_tokens=3, completion_tokens=3, cached_prompt_tokens=1, reasoning_tokens=1)
    assert isinstance(getattr(compute_cost(usage, policy()), field), Decimal)
