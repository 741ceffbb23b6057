"""Pure circuit-breaker transitions: allow, on_success, on_failure, release_probe, would_allow."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_gateway.resilience.circuit import (
    CLOSED_CIRCUIT,
    Circuit,
    CircuitConfig,
    CircuitState,
    allow,
    on_failure,
    on_success,
    release_probe,
    would_allow,
)

CFG = CircuitConfig(failure_threshold=3, base_cooldown_s=2.0, max_cooldown_s=30.0, multiplier=2.0)


def fail_times(c: Circuit, n: int, now: float = 0.0) -> Circuit:
    for i in range(n):
        c = on_failure(c, now, CFG, f"boom {i}")
    return c


def open_circuit(now: float = 100.0) -> Circuit:
    return fail_times(CLOSED_CIRCUIT, CFG.failure_threshold, now)


def test_closed_admits_and_stays_unchanged() -> None:
    assert allow(CLOSED_CIRCUIT, 0.0, CFG) == (True, CLOSED_CIRCUIT)


def test_failures_below_threshold_are_counted_but_do_not_open() -> None:
    c = fail_times(CLOSED_CIRCUIT, CFG.failure_threshold - 1)
    assert c.state is CircuitState.CLOSED
    assert c.consecutive_failures == CFG.failure_threshold - 1
    assert c.last_error == f"boom {CFG.failure_threshold - 2}"
    assert allow(c, 0.0, CFG)[0]


def test_threshold_consecutive_failures_open_with_the_base_cooldown() -> None:
    c = open_circuit(now=100.0)
    assert c.state is CircuitState.OPEN
    assert (c.opened_at, c.cooldown_s, c.trips) == (100.0, 2.0, 1)
    assert c.consecutive_failures == 3


def test_a_success_between_failures_resets_the_count() -> None:
    c = fail_times(CLOSED_CIRCUIT, 2)
    c = on_success(c, 0.0, CFG)
    c = fail_times(c, 2)
    assert c.state is CircuitState.CLOSED


def test_open_refuses_until_the_cooldown_has_elapsed() -> None:
    c = open_circuit(now=100.0)
    assert allow(c, 101.999, CFG) == (False, c)
    assert not would_allow(c, 101.999, CFG)
    assert c.retry_in_s(101.0) == pytest.approx(1.0)


def test_after_the_cooldown_exactly_one_caller_becomes_the_probe() -> None:
    c = open_circuit(now=100.0)
    admitted, probing = allow(c, 102.0, CFG)
    assert admitted
    assert probing.state is CircuitState.HALF_OPEN
    assert probing.probe_started_at == 102.0
    for later in (102.0, 103.0, 120.0):
        assert allow(probing, later, CFG) == (False, probing)


def test_probe_success_closes_and_resets_every_counter() -> None:
    _, probing = allow(open_circuit(), 102.0, CFG)
    assert on_success(probing, 103.0, CFG) == CLOSED_CIRCUIT


def test_success_on_a_clean_circuit_returns_the_same_object() -> None:
    c = Circuit()
    assert on_success(c, 1.0, CFG) is c


def test_probe_failure_reopens_with_a_longer_cooldown() -> None:
    _, probing = allow(open_circuit(now=100.0), 102.0, CFG)
    reopened = on_failure(probing, 103.0, CFG, "probe failed")
    assert reopened.state is CircuitState.OPEN
    assert (reopened.opened_at, reopened.cooldown_s, reopened.trips) == (103.0, 4.0, 2)
    assert reopened.last_error == "probe failed"
    assert reopened.probe_started_at is None


def test_cooldown_grows_geometrically_then_caps() -> None:
    c = open_circuit(now=0.0)
    now = 0.0
    cooldowns = [c.cooldown_s]
    for _ in range(7):
        now += c.cooldown_s
        admitted, c = allow(c, now, CFG)
        assert admitted
        c = on_failure(c, now, CFG, "still down")
        cooldowns.append(c.cooldown_s)
    assert cooldowns == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]


def test_success_after_many_trips_starts_again_from_the_base_cooldown() -> None:
    c = open_circuit(now=0.0)
    for now in (2.0, 6.0, 14.0):
        _, c = allow(c, now, CFG)
        c = on_failure(c, now, CFG, "down")
    assert c.cooldown_s == 16.0
    _, c = allow(c, 30.0, CFG)
    c = on_success(c, 31.0, CFG)
    assert open_circuit(now=40.0).cooldown_s == fail_times(c, 3, 40.0).cooldown_s == 2.0


def test_a_lost_probe_lets_a_new_probe_in_after_max_cooldown() -> None:
    _, probing = allow(open_circuit(now=0.0), 2.0, CFG)
    assert not would_allow(probing, 2.0 + CFG.max_cooldown_s - 0.001, CFG)
    admitted, reprobing = allow(probing, 2.0 + CFG.max_cooldown_s, CFG)
    assert admitted
    assert reprobing.state is CircuitState.HALF_OPEN
    assert reprobing.probe_started_at == 2.0 + CFG.max_cooldown_s


def test_a_released_probe_lets_the_next_caller_probe() -> None:
    _, probing = allow(open_circuit(now=0.0), 2.0, CFG)
    released = release_probe(probing)
    assert released.state is CircuitState.HALF_OPEN
    assert released.probe_started_at is None
    assert released.consecutive_failures == probing.consecutive_failures
    admitted, again = allow(released, 2.5, CFG)
    assert admitted and again.probe_started_at == 2.5


@pytest.mark.parametrize("c", [CLOSED_CIRCUIT, fail_times(CLOSED_CIRCUIT, 2), open_circuit()])
def test_release_outside_a_probe_changes_nothing(c: Circuit) -> None:
    assert release_probe(c) is c


def test_a_late_failure_while_open_does_not_extend_the_cooldown() -> None:
    c = open_circuit(now=100.0)
    late = on_failure(c, 101.5, CFG, "straggler")
    assert late.state is CircuitState.OPEN
    assert (late.opened_at, late.cooldown_s, late.trips) == (100.0, 2.0, 1)
    assert late.consecutive_failures == c.consecutive_failures + 1


def test_would_allow_never_changes_anything_and_matches_allow() -> None:
    c = open_circuit(now=0.0)
    assert would_allow(c, 2.0, CFG) is True
    assert c.state is CircuitState.OPEN  # frozen value: the peek cannot have moved it


def test_cooldown_for_absurd_trip_counts_is_the_cap() -> None:
    assert CircuitConfig(multiplier=10.0).cooldown_for(10_000) == 30.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"failure_threshold": 0},
        {"base_cooldown_s": 0.0},
        {"base_cooldown_s": 5.0, "max_cooldown_s": 1.0},
        {"multiplier": 0.5},
    ],
)
def test_invalid_configs_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        CircuitConfig(**kwargs)  # type: ignore[arg-type]


def test_from_settings_reads_the_circuit_variables() -> None:
    from llm_gateway.settings import Settings

    settings = Settings(
        GATEWAY_CIRCUIT_FAILURE_THRESHOLD=2,
        GATEWAY_CIRCUIT_COOLDOWN_S=0.5,
        GATEWAY_CIRCUIT_MAX_COOLDOWN_S=4.0,
    )
    cfg = CircuitConfig.from_settings(settings)
    assert (cfg.failure_threshold, cfg.base_cooldown_s, cfg.max_cooldown_s) == (2, 0.5, 4.0)


events = st.lists(
    st.tuples(
        st.sampled_from(["allow", "success", "failure", "release"]),
        st.floats(min_value=0.0, max_value=40.0),
    ),
    max_size=60,
)


@given(events)
def test_invariants_hold_over_any_event_sequence(steps: list[tuple[str, float]]) -> None:
    """Whatever happens: cool-downs stay within [base, max], the state is always consistent, and
    at most one caller is admitted while a fresh probe is in flight."""
    c, now = CLOSED_CIRCUIT, 0.0
    for kind, dt in steps:
        now += dt
        if kind == "allow":
            admitted, after = allow(c, now, CFG)
            if c.state is CircuitState.HALF_OPEN and c.probe_started_at is not None:
                assert admitted == (now - c.probe_started_at >= CFG.max_cooldown_s)
            if admitted and c.state is not CircuitState.CLOSED:
                assert after.state is CircuitState.HALF_OPEN and after.probe_started_at == now
            c = after
        elif kind == "success":
            c = on_success(c, now, CFG)
        elif kind == "failure":
            c = on_failure(c, now, CFG, "x")
        else:
            c = release_probe(c)
        if c.state is CircuitState.CLOSED:
            assert c.trips == 0 and c.consecutive_failures < CFG.failure_threshold
        else:
            assert CFG.base_cooldown_s <= c.cooldown_s <= CFG.max_cooldown_s
            assert c.trips >= 1
        if c.state is not CircuitState.HALF_OPEN:
            assert c.probe_started_at is None
