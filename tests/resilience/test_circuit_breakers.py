"""CircuitBreakers: the thread-safe in-memory holder over the pure transitions."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator

import pytest

from llm_gateway.resilience import (
    CLOSED_CIRCUIT,
    CircuitBreakers,
    CircuitConfig,
    CircuitState,
)

CFG = CircuitConfig(failure_threshold=2, base_cooldown_s=1.0, max_cooldown_s=8.0)
CLOSED, OPEN, HALF = CircuitState.CLOSED, CircuitState.OPEN, CircuitState.HALF_OPEN


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breakers(clock: FakeClock) -> CircuitBreakers:
    return CircuitBreakers(CFG, clock=clock)


@pytest.fixture
def eager_thread_switching() -> Iterator[None]:
    """Switch threads every microsecond so unlocked read-modify-write races actually happen."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def record_changes(breakers: CircuitBreakers) -> list[tuple[str, CircuitState, CircuitState]]:
    changes: list[tuple[str, CircuitState, CircuitState]] = []
    breakers.subscribe(lambda model, old, new: changes.append((model, old, new)))
    return changes


def test_an_unknown_model_is_closed_and_not_stored(breakers: CircuitBreakers) -> None:
    assert breakers.state("m") == CLOSED_CIRCUIT
    assert breakers.allow("m")
    breakers.record_success("m")
    assert breakers.snapshot() == {}


def test_full_cycle_notifies_every_state_change_in_order(
    breakers: CircuitBreakers, clock: FakeClock
) -> None:
    changes = record_changes(breakers)
    breakers.record_failure("m", "503")
    assert changes == []  # counting a failure is not a state change
    breakers.record_failure("m", "503")
    assert not breakers.allow("m")
    clock.now += 1.0
    assert breakers.allow("m")  # the probe
    assert not breakers.allow("m")
    breakers.record_failure("m", "probe 503")
    clock.now += 2.0
    assert breakers.allow("m")
    breakers.record_success("m")
    assert changes == [
        ("m", CLOSED, OPEN),
        ("m", OPEN, HALF),
        ("m", HALF, OPEN),
        ("m", OPEN, HALF),
        ("m", HALF, CLOSED),
    ]
    assert breakers.state("m") == CLOSED_CIRCUIT


def test_models_are_independent(breakers: CircuitBreakers) -> None:
    breakers.record_failure("a", "x")
    breakers.record_failure("a", "x")
    assert not breakers.allow("a")
    assert breakers.allow("b")
    assert set(breakers.snapshot()) == {"a"}
    assert breakers.snapshot()["a"].state is OPEN


def test_release_probe_lets_the_next_caller_probe(
    breakers: CircuitBreakers, clock: FakeClock
) -> None:
    breakers.record_failure("m", "x")
    breakers.record_failure("m", "x")
    clock.now += 1.0
    assert breakers.allow("m")
    assert not breakers.would_allow("m")
    breakers.release_probe("m")
    assert breakers.state("m").state is HALF
    assert breakers.would_allow("m")
    assert breakers.allow("m")
    assert not breakers.allow("m")


def test_snapshot_is_a_copy(breakers: CircuitBreakers) -> None:
    breakers.record_failure("m", "x")
    snap = breakers.snapshot()
    snap["m"] = CLOSED_CIRCUIT
    assert breakers.state("m").consecutive_failures == 1


def test_a_failing_listener_is_logged_and_does_not_break_the_caller(
    breakers: CircuitBreakers, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(model: str, old: CircuitState, new: CircuitState) -> None:
        raise RuntimeError("listener bug")

    breakers.subscribe(broken)
    changes = record_changes(breakers)
    with caplog.at_level(logging.ERROR, logger="llm_gateway.resilience.circuit"):
        breakers.record_failure("m", "x")
        breakers.record_failure("m", "x")
    assert changes == [("m", CLOSED, OPEN)]
    assert "circuit listener failed for m" in caplog.text


def test_a_listener_may_read_the_new_state(breakers: CircuitBreakers) -> None:
    seen = []
    breakers.subscribe(lambda model, old, new: seen.append(breakers.state(model).state))
    breakers.record_failure("m", "x")
    breakers.record_failure("m", "x")
    assert seen == [OPEN]


def test_as_dict_reports_plain_values(breakers: CircuitBreakers, clock: FakeClock) -> None:
    breakers.record_failure("m", "HTTP 503")
    breakers.record_failure("m", "HTTP 503")
    clock.now += 0.25
    view = breakers.state("m").as_dict(clock())
    assert view == {
        "state": "open",
        "consecutive_failures": 2,
        "cooldown_s": 1.0,
        "retry_in_s": 0.75,
        "trips": 1,
        "probe_in_flight": False,
        "last_error": "HTTP 503",
    }


@pytest.mark.usefixtures("eager_thread_switching")
def test_thread_safety_smoke_failures_are_never_lost() -> None:
    breakers = CircuitBreakers(CircuitConfig(failure_threshold=1_000_000), clock=FakeClock())
    threads, per_thread = 8, 500
    barrier = threading.Barrier(threads)

    def hammer() -> None:
        barrier.wait(timeout=5)
        for _ in range(per_thread):
            breakers.record_failure("m", "x")
            breakers.allow("m")

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=10)
    assert breakers.state("m").consecutive_failures == threads * per_thread


@pytest.mark.usefixtures("eager_thread_switching")
def test_thread_safety_smoke_exactly_one_probe_is_admitted(clock: FakeClock) -> None:
    breakers = CircuitBreakers(CFG, clock=clock)
    breakers.record_failure("m", "x")
    breakers.record_failure("m", "x")
    clock.now += CFG.base_cooldown_s
    threads = 16
    barrier = threading.Barrier(threads)
    admitted: list[bool] = []
    lock = threading.Lock()

    def race() -> None:
        barrier.wait(timeout=5)
        result = breakers.allow("m")
        with lock:
            admitted.append(result)

    workers = [threading.Thread(target=race) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=10)
    assert len(admitted) == threads
    assert admitted.count(True) == 1
