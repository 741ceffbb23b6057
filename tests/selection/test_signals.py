"""InMemorySignals: what the gateway feeds selection (overrides, disabled models, circuit state,
observed performance), published as immutable versioned snapshots."""

from __future__ import annotations

import pytest

from llm_gateway.selection.signals import InMemorySignals, Override, SelectionSignals


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_in_memory_signals_implement_the_protocol() -> None:
    signals: SelectionSignals = InMemorySignals()
    assert signals.snapshot().version == 0


def test_admin_changes_publish_at_once_and_only_when_they_change_something() -> None:
    signals = InMemorySignals()
    assert signals.set_override("writer", Override("a")) is None
    assert signals.snapshot().overrides["writer"].model_id == "a"
    assert signals.set_override("writer", Override("b")).model_id == "a"  # type: ignore[union-attr]
    version = signals.snapshot().version
    assert signals.clear_override("nobody") is None
    signals.set_disabled("m", False)
    signals.set_available("m", True)
    assert signals.snapshot().version == version, "no-ops do not invalidate caches"
    signals.set_disabled("m", True)
    signals.set_available("m", False)
    snapshot = signals.snapshot()
    assert snapshot.version == version + 2
    assert snapshot.disabled == {"m"} and snapshot.unavailable == {"m"}
    with pytest.raises(TypeError):
        snapshot.overrides["x"] = Override("y")  # type: ignore[index]


def test_observations_publish_after_the_interval_and_min_samples() -> None:
    clock = Clock()
    signals = InMemorySignals(publish_interval_s=5.0, min_samples=3, clock=clock)
    for _ in range(2):
        signals.record("m", 100.0, ok=True)
    clock.now += 10
    assert "m" not in signals.snapshot().stats, "fewer than min_samples"
    signals.record("m", 100.0, ok=True)
    assert "m" not in signals.snapshot().stats, "at most one publication per interval"
    clock.now += 5
    version = signals.snapshot().version
    assert "m" in signals.snapshot().stats, "published: the interval has passed"
    signals.record("m", 100.0, ok=True)
    clock.now += 1
    assert signals.snapshot().version == version, "within the interval: no new version"
    clock.now += 5
    assert signals.snapshot().version == version + 1
    assert signals.snapshot().stats["m"].samples == 4


def test_smoothing_and_failures() -> None:
    signals = InMemorySignals(publish_interval_s=0.0, min_samples=1, smoothing=0.5)
    signals.record("m", 0.0, ok=False)
    stats = signals.snapshot().stats["m"]
    assert (stats.error_rate, stats.successes, stats.has_latency) == (1.0, 0, False)
    signals.record("m", 400.0, ok=True)
    signals.record("m", 200.0, ok=True)
    stats = signals.snapshot().stats["m"]
    assert stats.latency_ms == 300.0  # 400, then halfway to 200; the failure's 0 ms is ignored
    assert stats.error_rate == 0.25  # 1 → 0.5 → 0.25
    assert (stats.samples, stats.successes) == (3, 2)
