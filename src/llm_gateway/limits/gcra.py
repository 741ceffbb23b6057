"""GCRA, the generic cell rate algorithm: a limit of ``limit`` units per ``period_s`` as a
bucket of ``limit`` units that refills continuously (the way OpenAI's and Anthropic's limits
refill). The whole state of one limit is one number, the theoretical arrival time ``tat``: the
instant the bucket is full again. Pure; the Redis store runs the same steps in Lua
(:mod:`llm_gateway.limits.store`), so memory and Redis decide alike.

In any window of ``w`` seconds at most ``limit + limit * w / period_s`` units are granted (a
full bucket, then the refill): never more than ``limit`` in a burst.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Leases (slices) are at most a quarter of what is still available, so several replicas
# share what is left near the cap instead of one holding it.
SLICE_SHARE = 4
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Grant:
    """``granted`` units (0: refused), or how long until ``need`` units are available."""

    granted: int
    retry_after_s: float = 0.0


def take(
    tat: float | None,
    now: float,
    *,
    want: int,
    need: int,
    limit: int,
    period_s: float,
    sliced: bool,
) -> tuple[Grant, float | None]:
    """Grant between ``need`` and ``want`` units, or none; returns the grant and the new
    ``tat`` (unchanged when refused). ``sliced``: grant at most a quarter of what is left (but
    never less than ``need``). ``need`` above ``limit`` is treated as ``limit`` (the request
    is let through on a full bucket, not refused forever)."""
    need = min(max(need, 1), limit)
    interval = period_s / limit
    start = now if tat is None or tat < now else tat
    available = math.floor((now + period_s - start) / interval + _EPSILON)
    if available < need:
        wait = start + need * interval - period_s - now
        return Grant(0, max(wait, 0.001)), tat
    granted = min(max(want, need), available)
    if sliced:
        granted = max(need, min(granted, available // SLICE_SHARE))
    return Grant(granted), start + granted * interval


def give_back(
    tat: float | None, now: float, *, amount: int, limit: int, period_s: float
) -> float | None:
    """``amount`` > 0: units granted and not used go back (the bucket never fills past full);
    ``amount`` < 0: units used beyond the grant are charged (they delay later grants)."""
    interval = period_s / limit
    start = now if tat is None or tat < now else tat
    if amount >= 0:
        new = start - amount * interval
        return None if new <= now else new
    return start - amount * interval
