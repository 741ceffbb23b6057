"""What the gateway tells the selector at run time: overrides, disabled models, circuit state and
observed performance.

Selection reads one immutable :class:`SignalsSnapshot`; its ``version`` changes whenever anything
in it does, which is what keys the selection cache. Observed performance is folded into the
snapshot at most once per ``publish_interval_s`` so that a busy gateway does not invalidate the
cache on every request. :class:`InMemorySignals` is the embedded implementation; the shared-state
backends implement the same :class:`SelectionSignals` protocol.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ModelStats:
    """Observed behaviour of one model: smoothed latency (ms) of its *successful* attempts,
    smoothed error rate (0..1), the number of samples and how many of them succeeded.
    ``latency_ms`` is 0.0 and meaningless while ``successes`` is 0."""

    latency_ms: float
    error_rate: float
    samples: int
    successes: int = 0

    @property
    def has_latency(self) -> bool:
        return self.successes > 0


@dataclass(frozen=True, slots=True)
class Override:
    """An admin's choice of model for a node.

    The override becomes the primary only while the model satisfies the node's hard constraints
    and is not disabled; otherwise selection says why it skipped it and chooses as usual.
    ``forced`` makes it apply even while the model's circuit is open (the admin knows better
    than the health signal); it never bypasses the hard constraints.
    """

    model_id: str
    forced: bool = False
    actor: str = "admin"
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class SignalsSnapshot:
    """Everything run-time that selection reads, frozen; ``version`` keys the selection cache."""

    version: int = 0
    overrides: Mapping[str, Override] = field(default_factory=lambda: MappingProxyType({}))
    disabled: frozenset[str] = frozenset()
    unavailable: frozenset[str] = frozenset()
    stats: Mapping[str, ModelStats] = field(default_factory=lambda: MappingProxyType({}))


class SelectionSignals(Protocol):
    """How the gateway feeds selection: the selector only ever calls ``snapshot()``; the
    gateway (and the admin API) call the writers."""

    def snapshot(self) -> SignalsSnapshot: ...

    def set_override(self, node: str, override: Override) -> Override | None: ...

    def clear_override(self, node: str) -> Override | None: ...

    def set_disabled(self, model: str, disabled: bool) -> None: ...

    def set_available(self, model: str, available: bool) -> None: ...

    def record(self, model: str, latency_ms: float, ok: bool) -> None: ...


class InMemorySignals:
    """Signals kept in this process. Thread-safe; every change bumps the snapshot version.

    Overrides, disabled models and circuit state are published at once. Recorded outcomes are
    folded into the published statistics at most once per ``publish_interval_s`` (so a busy
    gateway does not invalidate the selection cache on every request) and only for models with
    at least ``min_samples`` samples (so one slow call does not reorder the catalogue).
    """

    def __init__(
        self,
        *,
        publish_interval_s: float = 5.0,
        smoothing: float = 0.2,
        min_samples: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._publish_interval = publish_interval_s
        self._alpha = smoothing
        self._min_samples = min_samples
        self._overrides: dict[str, Override] = {}
        self._disabled: set[str] = set()
        self._unavailable: set[str] = set()
        self._live: dict[str, _LiveStats] = {}
        self._published_at = clock()
        self._stats_dirty = False
        self._snapshot = SignalsSnapshot()

    def snapshot(self) -> SignalsSnapshot:
        """The current snapshot; folds in recorded outcomes at most once per publish interval."""
        if self._stats_dirty and self._clock() - self._published_at >= self._publish_interval:
            with self._lock:
                if self._stats_dirty:
                    self._publish()
        return self._snapshot

    def overrides(self) -> Mapping[str, Override]:
        return self._snapshot.overrides

    def set_override(self, node: str, override: Override) -> Override | None:
        """Make ``override`` the node's override; returns the one it replaces."""
        with self._lock:
            before = self._overrides.get(node)
            self._overrides[node] = override
            self._publish()
            return before

    def clear_override(self, node: str) -> Override | None:
        """Remove the node's override; returns it (None when there was none)."""
        with self._lock:
            before = self._overrides.pop(node, None)
            if before is not None:
                self._publish()
            return before

    def replace_control(self, overrides: Mapping[str, Override], disabled: set[str]) -> bool:
        """Make the admin state exactly this (the shared control state), in one publish;
        True when anything changed."""
        with self._lock:
            if dict(overrides) == self._overrides and disabled == self._disabled:
                return False
            self._overrides = dict(overrides)
            self._disabled = set(disabled)
            self._publish()
            return True

    def set_disabled(self, model: str, disabled: bool) -> None:
        """An admin's switch: a disabled model is never selected (nor used as a fallback)."""
        with self._lock:
            if disabled == (model in self._disabled):
                return
            (self._disabled.add if disabled else self._disabled.discard)(model)
            self._publish()

    def set_available(self, model: str, available: bool) -> None:
        """Circuit state: an unavailable model is tried only after every available one."""
        with self._lock:
            if available == (model not in self._unavailable):
                return
            (self._unavailable.discard if available else self._unavailable.add)(model)
            self._publish()

    def record(self, model: str, latency_ms: float, ok: bool) -> None:
        """Fold one attempt's outcome into the model's smoothed statistics. The latency of a
        failed attempt says nothing about the model's speed, so only successes update it."""
        with self._lock:
            live = self._live.setdefault(model, _LiveStats())
            live.fold(latency_ms, ok, self._alpha)
            self._stats_dirty = True

    def seed(self, observed: Mapping[str, Mapping[str, float]]) -> None:
        """Start from what the record store observed (per model: ``samples``, ``errors``,
        ``latency_ms`` of successes), so a restart does not forget; live outcomes then fold in."""
        with self._lock:
            for model, seen in observed.items():
                samples = int(seen.get("samples", 0))
                if samples <= 0:
                    continue
                errors = int(seen.get("errors", 0))
                successes = samples - errors
                self._live[model] = _LiveStats(
                    latency_ms=float(seen.get("latency_ms", 0.0)) if successes else None,
                    error_rate=errors / samples,
                    samples=samples,
                    successes=successes,
                )
            self._publish()

    def _publish(self) -> None:
        stats = {
            model: ModelStats(
                latency_ms=v.latency_ms or 0.0,
                error_rate=v.error_rate,
                samples=v.samples,
                successes=v.successes,
            )
            for model, v in self._live.items()
            if v.samples >= self._min_samples
        }
        self._snapshot = SignalsSnapshot(
            version=self._snapshot.version + 1,
            overrides=MappingProxyType(dict(self._overrides)),
            disabled=frozenset(self._disabled),
            unavailable=frozenset(self._unavailable),
            stats=MappingProxyType(stats),
        )
        self._published_at = self._clock()
        self._stats_dirty = False


@dataclass(slots=True)
class _LiveStats:
    """Exponentially smoothed statistics of one model, mutated under the signals' lock."""

    latency_ms: float | None = None
    error_rate: float = 0.0
    samples: int = 0
    successes: int = 0

    def fold(self, latency_ms: float, ok: bool, alpha: float) -> None:
        outcome = 0.0 if ok else 1.0
        if self.samples == 0:
            self.error_rate = outcome
        else:
            self.error_rate += alpha * (outcome - self.error_rate)
        if ok:
            self.successes += 1
            if self.latency_ms is None:
                self.latency_ms = latency_ms
            else:
                self.latency_ms += alpha * (latency_ms - self.latency_ms)
        self.samples += 1
