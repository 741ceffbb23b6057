"""Which v1 calls get a shadow, and what shadows may spend — pure decisions, clock injected.

- :func:`shadow_percentage`: the share, read in ONE place (``GATEWAY_V2_SHADOW_PERCENTAGE``, or
  the admin's run-time value of the rollout flags).
- :func:`in_shadow_share`: sticky by key (the user, else the trace id), so a user's calls are all
  shadowed or none are; hashed with its own salt, independent of the v1/v2 bucketing (with the
  same hash, a 10 % shadow under a 30 % rollout would pick only keys that already take v2).
  A call without a key is drawn at random.
- :class:`ShadowBudget`: the day's shadow spend against ``GATEWAY_V2_SHADOW_BUDGET_USD`` (UTC
  day). A shadow starts only if what is spent, plus an estimate for every shadow in flight here
  and for itself, stays within the cap; the estimate is the dearest shadow call seen so far
  today. So with calls of similar cost the cap holds; a first call dearer than the cap, or a
  call dearer than every earlier one, may overshoot it by that call. "Spent" is the larger of
  this replica's count and the day's total in the record store (every replica's shadows, as of
  the last delivery of comparison rows — within a second or so), so the cap is the
  deployment's, lagging by that much, and survives a restart from the first delivery on.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from llm_gateway.settings import Settings

_SALT = b"llm-gateway:shadow:"
_ZERO = Decimal(0)


def shadow_percentage(settings: Settings, gateway: Any = None) -> int:
    """The share (0 to 100) of v1 calls that also run through v2 in the background: an admin's
    run-time value (``PUT /api/admin/gateway/flags`` ``shadow_percentage``, on ``gateway``'s live
    flags) when one is set, else ``GATEWAY_V2_SHADOW_PERCENTAGE``."""
    flags = getattr(gateway, "flags", None)
    if flags is not None and "shadow_percentage" in flags.overlay:
        return int(flags.current().shadow_percentage)
    return int(settings.GATEWAY_V2_SHADOW_PERCENTAGE)


def shadow_bucket(key: str) -> int:
    """``key``'s bucket, 0 to 99, stable across processes and releases."""
    digest = hashlib.blake2b(_SALT + key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 100


def in_shadow_share(key: str | None, percentage: int, rng: random.Random | None = None) -> bool:
    """True when a call with ``key`` is shadowed at ``percentage`` (exact at 0 and 100)."""
    if percentage <= 0:
        return False
    if percentage >= 100:
        return True
    if not key:
        return (rng or random).randrange(100) < percentage
    return shadow_bucket(key) < percentage


def utc_day(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


class ShadowBudget:
    """The shadow spend of the current UTC day on this replica. Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.day = utc_day(clock())
        self.spent = _ZERO
        self.reserved = _ZERO
        self.dearest = _ZERO  # the dearest shadow call of the day: the estimate for the next
        self.recorded = _ZERO  # the day's spend in the record store (every replica's)

    def _roll(self) -> None:
        day = utc_day(self._clock())
        if day != self.day:
            self.day, self.spent, self.dearest, self.recorded = day, _ZERO, _ZERO, _ZERO

    def observe_recorded(self, day: str, spent: Decimal) -> None:
        """The day's shadow spend as the record store has it (every replica's): counted when
        larger than this replica's own."""
        with self._lock:
            self._roll()
            if day == self.day:
                self.recorded = max(self.recorded, spent)

    @property
    def counted(self) -> Decimal:
        """The day's spend the cap is checked against."""
        return max(self.spent, self.recorded)

    def try_reserve(self, cap: Decimal) -> Decimal | None:
        """Reserve the estimate for one shadow call; None when it would not fit under ``cap``."""
        with self._lock:
            self._roll()
            estimate = self.dearest
            spent = self.counted
            if cap <= 0 or spent + self.reserved + estimate > cap:
                return None
            if estimate == 0 and spent + self.reserved >= cap:
                return None
            self.reserved += estimate
            return estimate

    def settle(self, reserved: Decimal, cost: Decimal) -> None:
        """Release ``reserved`` and charge what the call cost."""
        with self._lock:
            self.reserved = max(_ZERO, self.reserved - reserved)
            self._roll()
            self.spent += cost
            self.dearest = max(self.dearest, cost)

    def view(self, cap: Decimal) -> dict[str, object]:
        with self._lock:
            self._roll()
            return {
                "period": f"day:{self.day}",
                "spent_usd": float(self.counted),
                "spent_here_usd": float(self.spent),
                "recorded_usd": float(self.recorded),
                "reserved_usd": float(self.reserved),
                "cap_usd": float(cap),
                "exhausted": self.counted + self.reserved + self.dearest > cap or cap <= 0,
            }
