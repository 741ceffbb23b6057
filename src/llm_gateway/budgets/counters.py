"""Budget counters shared by every replica: per (scope, period) the settled ``spent`` and each
replica's lease, in whole nano-USD.

One operation does the request path's work for many counters at once (:meth:`sync`): add what a
replica settled since its last sync, renew its lease and resize it — grow it by a slice, or, near
the cap, by a share of what is left that shrinks with the number of replicas holding leases.
``spent`` plus every live lease never exceeds the cap (but for a lease a replica must *hold*:
reservations it already made), so the replicas together cannot overshoot it. A replica that dies
stops renewing: its lease expires after ``ttl``.

A counter that does not exist (a new period, or a state store that lost its data) is reported
absent and changes nothing; the caller rebuilds it from the ledger with :meth:`init`.

Two backends with one contract: :class:`MemoryBudgetCounters` here and the Redis one in
:mod:`.redis_counters` (the same algorithm as a Lua script).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

AFTER_PERIOD_S = 3600.0  # a counter is kept this long after its period ends (for reports)


@dataclass(frozen=True, slots=True)
class SyncItem:
    """One counter's part of a sync: ``delta`` settled spend to add; ``hold`` the lease the
    replica must keep (reservations made against it); ``want`` the lease it would like; ``need``
    the least lease that lets a waiting request in (0: nobody waits)."""

    key: str
    cap: int
    delta: int = 0
    hold: int = 0
    want: int = 0
    need: int = 0


@dataclass(frozen=True, slots=True)
class SyncAnswer:
    """``present`` False: the counter does not exist (nothing was changed). Else the lease now
    held, the counter's spend, the other replicas' live leases and how many replicas (this one
    included) hold one, whether ``need`` was met, and how many replicas of the deployment are
    alive (their heartbeats; at least the holders)."""

    present: bool
    lease: int = 0
    spent: int = 0
    others: int = 0
    holders: int = 1
    ok: bool = True
    replicas: int = 1


@dataclass(frozen=True, slots=True)
class CounterView:
    spent: int
    leased: int
    holders: int


class BudgetCounters(ABC):
    """The shared counters (see the module doc). Every method may raise StateUnavailable."""

    @abstractmethod
    async def sync(
        self, replica: str, items: Sequence[SyncItem], ttl_s: float
    ) -> list[SyncAnswer]: ...

    @abstractmethod
    async def init(self, key: str, spent: int, expire_at: float) -> bool:
        """Create the counter with ``spent`` (kept until ``expire_at``, unix seconds) unless it
        exists; True when this call created it."""

    @abstractmethod
    async def read(self, keys: Sequence[str]) -> list[CounterView | None]: ...

    async def aclose(self) -> None:
        return None


def resize_lease(
    cap: int, spent: int, others: int, holders: int, item: SyncItem
) -> tuple[int, bool]:
    """The lease to grant and whether ``need`` is met: ``want`` when it fits, else ``hold`` plus
    ``1 / (2 * holders)`` of the room left (at least ``need`` when that fits); only ``hold`` when
    ``need`` does not fit."""
    avail = cap - spent - others
    lease = item.hold
    if item.want > item.hold:
        room = avail - item.hold
        if room >= item.want - item.hold:
            lease = item.want
        elif room > 0:
            lease = item.hold + room // (2 * holders)
            if lease < item.need <= avail:
                lease = item.need
    if lease < item.need:  # what is left cannot let the waiting request in: take none of it
        return item.hold, False
    return lease, True


@dataclass
class _Counter:
    spent: int
    expire_at: float
    leases: dict[str, tuple[int, float]] = field(default_factory=dict)  # replica → lease, until


class MemoryBudgetCounters(BudgetCounters):
    """One process's counters (no ``REDIS_URL``): the same arithmetic as the Lua script."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counters: dict[str, _Counter] = {}

    def _live(self, key: str) -> _Counter | None:
        counter = self._counters.get(key)
        if counter is not None and counter.expire_at <= self._clock():
            del self._counters[key]
            return None
        return counter

    async def sync(self, replica: str, items: Sequence[SyncItem], ttl_s: float) -> list[SyncAnswer]:
        now = self._clock()
        answers = []
        for item in items:
            counter = self._live(item.key)
            if counter is None:
                answers.append(SyncAnswer(False))
                continue
            counter.spent += item.delta
            others, holders = 0, 1
            for holder, (amount, until) in list(counter.leases.items()):
                if holder == replica:
                    continue
                if until < now:
                    del counter.leases[holder]
                else:
                    others += amount
                    holders += 1
            lease, ok = resize_lease(item.cap, counter.spent, others, holders, item)
            if lease > 0:
                counter.leases[replica] = (lease, now + ttl_s)
            else:
                counter.leases.pop(replica, None)
            answers.append(SyncAnswer(True, lease, counter.spent, others, holders, ok, holders))
        return answers

    async def init(self, key: str, spent: int, expire_at: float) -> bool:
        if self._live(key) is not None:
            return False
        self._counters[key] = _Counter(spent, expire_at + AFTER_PERIOD_S)
        return True

    async def read(self, keys: Sequence[str]) -> list[CounterView | None]:
        now = self._clock()
        views: list[CounterView | None] = []
        for key in keys:
            counter = self._live(key)
            if counter is None:
                views.append(None)
                continue
            live = [amount for amount, until in counter.leases.values() if until >= now]
            views.append(CounterView(counter.spent, sum(live), len(live)))
        return views
