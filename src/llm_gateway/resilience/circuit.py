"""Per-model circuit breaker: pure transitions, and a thread-safe in-memory holder.

    CLOSED ──failure_threshold consecutive failures──▶ OPEN
    OPEN ──cool-down elapsed, next caller is THE probe──▶ HALF_OPEN
    HALF_OPEN ──probe succeeds──▶ CLOSED (counters reset)
    HALF_OPEN ──probe fails──▶ OPEN with a longer cool-down
    HALF_OPEN ──probe released (caller cancelled) or lost──▶ HALF_OPEN, next caller probes

The cool-down of the n-th consecutive opening (n = ``trips`` before it, 0 for the first) is
``base_cooldown_s * multiplier**n`` capped at ``max_cooldown_s``: a model that keeps failing its
probes is probed less and less often, but at least every ``max_cooldown_s``. That cap bounds how
late a recovery is noticed, so it is short (5 s by default, 1 s doubling): an outage costs at
most one probe per cool-down, and a model that is back is used again within seconds rather than
the half-minute a long cap left every request on the fallback.

The functions take a :class:`Circuit` value and the current time and return a new value; they
never read a clock or mutate anything, so a Redis-backed holder can run the same logic inside
its own atomic update. Only provider-attributable failures are recorded (the gateway checks
``ProviderError.counts_against_model``); a caller's cancellation is a ``release_probe``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llm_gateway.settings import Settings

logger = logging.getLogger(__name__)


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class CircuitConfig:
    failure_threshold: int = 5
    base_cooldown_s: float = 2.0
    max_cooldown_s: float = 30.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {self.failure_threshold}")
        if self.base_cooldown_s <= 0:
            raise ValueError(f"base_cooldown_s must be > 0, got {self.base_cooldown_s}")
        if self.max_cooldown_s < self.base_cooldown_s:
            raise ValueError("max_cooldown_s must be >= base_cooldown_s")
        if self.multiplier < 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier}")

    @classmethod
    def from_settings(cls, settings: Settings) -> CircuitConfig:
        """The config set by the ``GATEWAY_CIRCUIT_*`` variables (max never below base)."""
        base = settings.GATEWAY_CIRCUIT_COOLDOWN_S
        return cls(
            failure_threshold=settings.GATEWAY_CIRCUIT_FAILURE_THRESHOLD,
            base_cooldown_s=base,
            max_cooldown_s=max(base, settings.GATEWAY_CIRCUIT_MAX_COOLDOWN_S),
        )

    def cooldown_for(self, trips: int) -> float:
        """Cool-down of an opening preceded by ``trips`` openings without a success between."""
        try:
            return min(self.max_cooldown_s, self.base_cooldown_s * self.multiplier**trips)
        except OverflowError:
            return self.max_cooldown_s


@dataclass(frozen=True, slots=True)
class Circuit:
    """One model's breaker state; ``opened_at`` and ``probe_started_at`` are clock readings."""

    state: CircuitState = CircuitState.CLOSED
    consecutive_failures: int = 0
    opened_at: float = 0.0
    cooldown_s: float = 0.0  # current cool-down
    trips: int = 0  # consecutive openings without a success in between
    probe_started_at: float | None = None
    last_error: str | None = None

    def retry_in_s(self, now: float) -> float:
        """Seconds until an OPEN circuit admits a probe (0 when not OPEN or already due)."""
        if self.state is not CircuitState.OPEN:
            return 0.0
        return max(0.0, self.opened_at + self.cooldown_s - now)

    def as_dict(self, now: float) -> dict[str, Any]:
        """Plain values for health endpoints and admin views (no clock readings)."""
        return {
            "state": self.state.value,
            "consecutive_failures": self.consecutive_failures,
            "cooldown_s": self.cooldown_s,
            "retry_in_s": round(self.retry_in_s(now), 3),
            "trips": self.trips,
            "probe_in_flight": self.probe_started_at is not None,
            "last_error": self.last_error,
        }


CLOSED_CIRCUIT = Circuit()


def allow(c: Circuit, now: float, cfg: CircuitConfig) -> tuple[bool, Circuit]:
    """Whether a caller may try the model now, and the circuit after admitting it.

    CLOSED admits everyone. OPEN refuses until its cool-down has elapsed; then it turns
    HALF_OPEN and this caller is the single probe. HALF_OPEN refuses while a probe is in flight,
    unless that probe started ``max_cooldown_s`` or more ago (it is counted as lost and this
    caller becomes the new probe).
    """
    if c.state is CircuitState.CLOSED:
        return True, c
    if c.state is CircuitState.OPEN:
        if now - c.opened_at < c.cooldown_s:
            return False, c
        return True, replace(c, state=CircuitState.HALF_OPEN, probe_started_at=now)
    probe_alive = c.probe_started_at is not None and now - c.probe_started_at < cfg.max_cooldown_s
    if probe_alive:
        return False, c
    return True, replace(c, probe_started_at=now)


def would_allow(c: Circuit, now: float, cfg: CircuitConfig) -> bool:
    """Read-only peek for model selection: would :func:`allow` admit a caller now?"""
    return allow(c, now, cfg)[0]


def on_success(c: Circuit, now: float, cfg: CircuitConfig) -> Circuit:
    """A call succeeded: CLOSED with every counter reset (the same object if nothing changes)."""
    return c if c == CLOSED_CIRCUIT else CLOSED_CIRCUIT


def on_failure(c: Circuit, now: float, cfg: CircuitConfig, error: str) -> Circuit:
    """A provider-attributable failure.

    CLOSED counts it and opens at ``failure_threshold`` consecutive failures. A failed probe
    (HALF_OPEN) opens again with the next, longer cool-down. A failure reported while OPEN (a
    call admitted before the circuit opened) is counted but does not extend the cool-down.
    """
    failures = c.consecutive_failures + 1
    if c.state is CircuitState.CLOSED and failures < cfg.failure_threshold:
        return replace(c, consecutive_failures=failures, last_error=error)
    if c.state is CircuitState.OPEN:
        return replace(c, consecutive_failures=failures, last_error=error)
    return Circuit(
        state=CircuitState.OPEN,
        consecutive_failures=failures,
        opened_at=now,
        cooldown_s=cfg.cooldown_for(c.trips),
        trips=c.trips + 1,
        probe_started_at=None,
        last_error=error,
    )


def release_probe(c: Circuit) -> Circuit:
    """The probe's caller went away without a verdict: stay HALF_OPEN, let the next caller probe."""
    if c.state is CircuitState.HALF_OPEN and c.probe_started_at is not None:
        return replace(c, probe_started_at=None)
    return c


Listener = Callable[[str, CircuitState, CircuitState], None]


class CircuitBreakers:
    """Every model's circuit in this process, behind one lock.

    Listeners are called as ``listener(model, old_state, new_state)`` on every state change,
    in the order the changes happened, while the lock is held: they must be quick and must not
    block (they may read :meth:`state`). A listener that raises is logged and skipped; it never
    fails the request that caused the change.
    """

    def __init__(self, config: CircuitConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.RLock()
        self._circuits: dict[str, Circuit] = {}
        self._listeners: list[Listener] = []

    @property
    def config(self) -> CircuitConfig:
        return self._config

    def allow(self, model: str) -> bool:
        """Admit or refuse a call to ``model``; an admitted call must end in exactly one of
        :meth:`record_success`, :meth:`record_failure` or :meth:`release_probe`."""
        with self._lock:
            allowed, new = allow(self._get(model), self._clock(), self._config)
            self._put(model, new)
            return allowed

    def would_allow(self, model: str) -> bool:
        """Read-only: would :meth:`allow` admit a call now (for selection)."""
        with self._lock:
            return would_allow(self._get(model), self._clock(), self._config)

    def record_success(self, model: str) -> None:
        with self._lock:
            self._put(model, on_success(self._get(model), self._clock(), self._config))

    def record_failure(self, model: str, error: str) -> None:
        with self._lock:
            self._put(model, on_failure(self._get(model), self._clock(), self._config, error))

    def release_probe(self, model: str) -> None:
        """The caller cancelled: an unfinished probe neither succeeds nor fails."""
        with self._lock:
            self._put(model, release_probe(self._get(model)))

    def force(self, model: str, state: CircuitState, cooldown_s: float = 0.0) -> None:
        """Take another replica's verdict: OPEN for ``cooldown_s`` from now, or CLOSED."""
        with self._lock:
            current = self._get(model)
            if state is CircuitState.CLOSED:
                self._put(model, on_success(current, self._clock(), self._config))
                return
            self._put(
                model,
                Circuit(
                    state=CircuitState.OPEN,
                    consecutive_failures=max(current.consecutive_failures, 1),
                    opened_at=self._clock(),
                    cooldown_s=cooldown_s,
                    trips=max(current.trips, 1),
                    probe_started_at=None,
                    last_error=current.last_error or "opened by another replica",
                ),
            )

    def state(self, model: str) -> Circuit:
        """The model's circuit (CLOSED for a model never seen)."""
        with self._lock:
            return self._get(model)

    def snapshot(self) -> dict[str, Circuit]:
        """Every model seen so far and its circuit, as a copy."""
        with self._lock:
            return dict(self._circuits)

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(model, old, new)`` on every state change from now on."""
        with self._lock:
            self._listeners.append(listener)

    def _get(self, model: str) -> Circuit:
        return self._circuits.get(model, CLOSED_CIRCUIT)

    def _put(self, model: str, new: Circuit) -> None:
        old = self._get(model)
        if new is old:
            return
        self._circuits[model] = new
        if new.state is not old.state:
            self._notify(model, old.state, new.state)

    def _notify(self, model: str, old: CircuitState, new: CircuitState) -> None:
        for listener in list(self._listeners):
            try:
                listener(model, old, new)
            except Exception:
                logger.exception("circuit listener failed for %s (%s -> %s)", model, old, new)
