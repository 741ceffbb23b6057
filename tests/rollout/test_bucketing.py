"""Sticky bucketing: the share of distinct keys on v2 is the percentage (binomial bounds), a key
always lands in the same arm, 0 % and 100 % are exact, and moving the percentage one way only
moves keys that way."""

from __future__ import annotations

import math

import pytest

from llm_gateway.errors import ValidationFailed
from llm_gateway.rollout import RolloutFlags, choose_arm
from llm_gateway.rollout.bucketing import BUCKETS, bucket_of, in_rollout
from llm_gateway.rollout.flags import parse_node_percentages

KEYS = [f"user-{i}" for i in range(10_000)]


def _flags(percentage: int, **more: object) -> RolloutFlags:
    return RolloutFlags.model_validate({"v2_enabled": True, "v2_percentage": percentage, **more})


def test_thirty_percent_of_ten_thousand_keys_take_v2_within_binomial_bounds() -> None:
    flags = _flags(30)
    on_v2 = sum(choose_arm("writing", key, flags=flags) == "v2" for key in KEYS)
    n, p = len(KEYS), 0.30
    sd = math.sqrt(n * p * (1 - p))  # ~45.8
    assert abs(on_v2 - n * p) < 5 * sd  # a 5-sigma band: a fair hash fails it ~1 in 10^6


def test_each_key_always_lands_in_the_same_arm() -> None:
    flags = _flags(30)
    first = {key: choose_arm("writing", key, flags=flags) for key in KEYS[:2000]}
    for _ in range(3):
        assert {key: choose_arm("writing", key, flags=flags) for key in KEYS[:2000]} == first


@pytest.mark.parametrize(("percentage", "arm"), [(0, "v1"), (100, "v2")])
def test_zero_and_one_hundred_percent_are_exact(percentage: int, arm: str) -> None:
    flags = _flags(percentage)
    assert {choose_arm("writing", key, flags=flags) for key in KEYS} == {arm}


def test_the_switch_off_means_v1_whatever_the_percentage() -> None:
    flags = RolloutFlags(v2_enabled=False, v2_percentage=100)
    assert {choose_arm("writing", key, flags=flags) for key in KEYS[:500]} == {"v1"}


def test_raising_the_percentage_only_adds_keys_to_v2() -> None:
    at = {pct: {k for k in KEYS if in_rollout(k, pct)} for pct in (10, 25, 50, 75)}
    assert at[10] <= at[25] <= at[50] <= at[75]
    assert all(0 <= bucket_of(k) < BUCKETS for k in KEYS[:100])


def test_a_node_percentage_overrides_the_global_one() -> None:
    flags = _flags(0, node_percentages={"writer": 100})
    assert choose_arm("writing", "u1", node="writer", flags=flags) == "v2"
    assert choose_arm("formatting", "u1", node="formatter", flags=flags) == "v1"


def test_node_percentages_from_the_environment() -> None:
    assert parse_node_percentages("writer=10, formatter=50", "X") == {"writer": 10, "formatter": 50}
    with pytest.raises(ValidationFailed, match="X: 'writer' is not node=percentage"):
        parse_node_percentages("writer", "X")
