"""Which v1 calls are shadowed (sticky, independent of the v1/v2 bucketing) and what the
shadow budget lets through — pure decisions."""

from __future__ import annotations

import random
from decimal import Decimal

from llm_gateway.rollout.shadow_budget import (
    ShadowBudget,
    in_shadow_share,
    shadow_bucket,
    shadow_percentage,
)
from llm_gateway.settings import Settings

KEYS = [f"user-{i}" for i in range(10_000)]


def test_the_share_is_read_from_the_setting() -> None:
    assert shadow_percentage(Settings(_env_file=None)) == 0  # type: ignore[call-arg]
    settings = Settings(_env_file=None, GATEWAY_V2_SHADOW_PERCENTAGE=25)  # type: ignore[call-arg]
    assert shadow_percentage(settings) == 25


def test_sticky_and_close_to_the_share() -> None:
    chosen = [k for k in KEYS if in_shadow_share(k, 20)]
    # 10,000 keys at p = 0.2: sd = 40, so ±200 is five standard deviations
    assert 1_800 <= len(chosen) <= 2_200
    assert chosen == [k for k in KEYS if in_shadow_share(k, 20)]  # the same keys every time
    assert set(chosen) <= {k for k in KEYS if in_shadow_share(k, 50)}  # a larger share adds keys


def test_zero_and_hundred_are_exact() -> None:
    assert not any(in_shadow_share(k, 0) for k in KEYS)
    assert all(in_shadow_share(k, 100) for k in KEYS)
    assert not in_shadow_share(None, 0) and in_shadow_share(None, 100)


def test_calls_without_a_key_are_drawn() -> None:
    rng = random.Random(7)
    drawn = sum(in_shadow_share(None, 30, rng) for _ in range(10_000))
    assert 2_700 <= drawn <= 3_300  # sd ≈ 46


def test_independent_of_another_bucketing() -> None:
    """The v1 keys of a 30 % rollout (any other hash) still get about their share of shadows."""
    import hashlib

    def rollout_bucket(key: str) -> int:
        return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 100

    v1_keys = [k for k in KEYS if rollout_bucket(k) >= 30]
    shadowed = [k for k in v1_keys if in_shadow_share(k, 10)]
    assert 0.07 * len(v1_keys) <= len(shadowed) <= 0.13 * len(v1_keys)
    assert all(0 <= shadow_bucket(k) < 100 for k in KEYS[:100])


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_budget_stops_before_the_cap_with_calls_of_one_cost() -> None:
    budget = ShadowBudget(Clock(1_764_720_000.0))  # 2025-12-03 00:00 UTC
    cap, cost = Decimal("0.025"), Decimal("0.01")
    started = 0
    for _ in range(10):
        reserved = budget.try_reserve(cap)
        if reserved is None:
            continue
        started += 1
        budget.settle(reserved, cost)
    assert started == 2 and budget.spent == Decimal("0.02") <= cap
    assert budget.view(cap)["exhausted"] is True


def test_in_flight_estimates_count_against_the_cap() -> None:
    budget = ShadowBudget(Clock(1_764_720_000.0))
    cap = Decimal("0.05")
    first = budget.try_reserve(cap)
    assert first is not None
    budget.settle(first, Decimal("0.01"))  # the dearest call seen: 0.01
    held = [budget.try_reserve(cap) for _ in range(6)]  # none settled yet: all in flight
    assert [h is not None for h in held] == [True] * 4 + [False] * 2
    assert budget.reserved == Decimal("0.04")


def test_a_zero_cap_shadows_nothing_and_a_new_day_starts_afresh() -> None:
    clock = Clock(1_764_720_000.0)
    budget = ShadowBudget(clock)
    assert budget.try_reserve(Decimal(0)) is None
    reserved = budget.try_reserve(Decimal("0.01"))
    assert reserved is not None
    budget.settle(reserved, Decimal("0.01"))
    assert budget.try_reserve(Decimal("0.01")) is None  # spent it all today
    clock.now += 86_400
    assert budget.try_reserve(Decimal("0.01")) is not None
    assert budget.view(Decimal("0.01"))["period"] == "day:2025-12-04"


def test_the_record_stores_total_counts_when_larger() -> None:
    budget = ShadowBudget(Clock(1_764_720_000.0))
    cap = Decimal("1.0")
    reserved = budget.try_reserve(cap)
    assert reserved is not None
    budget.settle(reserved, Decimal("0.1"))
    budget.observe_recorded("2025-12-02", Decimal("5"))  # yesterday's total: not today's
    budget.observe_recorded("2025-12-03", Decimal("0.05"))  # smaller than this replica's
    assert budget.counted == Decimal("0.1")
    budget.observe_recorded("2025-12-03", Decimal("0.85"))  # other replicas spent too
    assert budget.counted == Decimal("0.85")
    held = budget.try_reserve(cap)  # 0.85 + 0.1 (the estimate) fits under 1.0
    assert held == Decimal("0.1")
    assert budget.try_reserve(cap) is None  # 0.85 + 0.1 held + 0.1 does not
