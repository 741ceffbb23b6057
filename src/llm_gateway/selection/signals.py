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
    """Observed behaviour of one model: smoothed latency (ms), error rate (0..1), sample count."""

    latency_ms: float
    error_rate: float
    samples: int


@dataclass(frozen=True, slots=True)
class Override:
    """An admin's choice of model for a node."""

    model_id: str
    forced: bool = False
    actor: str = "admin"
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class SignalsSnapshot:
    version: int = 0
    overrides: Mapping[str, Override] = field(default_factory=lambda: MappingProxyType({}))
    disabled: frozenset[str] = frozenset()
    unavailable: frozenset[str] = frozenset()
    stats: Mapping[str, ModelStats] = field(default_factory=lambda: MappingProxyType({}))


class SelectionSignals(Protocol):
    def snapshot(self) -> SignalsSnapshot: ...


class InMemorySignals:
    """Signals kept in this process. Thread-safe; every change bumps the snapshot version."""

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
        self._live: dict[str, list[float]] = {}  # model -> [latency ewma, error ewma, samples]
        self._published_at = clock()
        self._stats_dirty = False
        self._snapshot = SignalsSnapshot()

    def snapshot(self) -> SignalsSnapshot:
        if self._stats_dirty and self._clock() - self._published_at >= self._publish_interval:
            with self._lock:
                self._publish()
        return self._snapshot

    def overrides(self) -> Mapping[str, Override]:
        return self._snapshot.overrides

    def set_override(self, node: str, override: Override) -> Override | None:
        with self._lock:
            before = self._overrides.get(node)
            self._overrides[node] = override
            self._publish()
            return before

    def clear_override(self, node: str) -> Override | None:
        with self._lock:
            before = self._overrides.pop(node, None)
            self._publish()
            return before

    def set_disabled(self, model: str, disabled: bool) -> None:
        with self._lock:
            (self._disabled.add if disabled else self._disabled.discard)(model)
            self._publish()

    def set_available(self, model: str, available: bool) -> None:
        """Circuit state: an unavailable model is skipped by selection until made available."""
        with self._lock:
            if available == (model not in self._unavailable):
                return
            (self._unavailable.discard if available else self._unavailable.add)(model)
            self._publish()

    def record(self, model: str, latency_ms: float, ok: bool) -> None:
        """Fold one attempt's outcome into the model's smoothed statistics."""
        with self._lock:
            live = self._live.get(model)
            if live is None:
                self._live[model] = [latency_ms, 0.0 if ok else 1.0, 1]
            else:
                a = self._alpha
                if ok:
                    live[0] += a * (latency_ms - live[0])
                live[1] += a * ((0.0 if ok else 1.0) - live[1])
                live[2] += 1
            self._stats_dirty = True

    def _publish(self) -> None:
        stats = {
            model: ModelStats(latency_ms=v[0], error_rate=v[1], samples=int(v[2]))
            for model, v in self._live.items()
            if v[2] >= self._min_samples
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
