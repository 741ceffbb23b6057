"""Capacity leased to this replica, so that most requests take from a local slice and only a
refill makes a round trip to the shared store.

A lease is granted by the store's bucket and counts there as used the moment it is granted, so
the replicas together never admit more than the limit; what a replica does not use within
``lease_s`` goes back. Slices grow while this replica uses them up (doubling, to at most
``max_share`` of the limit) and shrink near the cap (the store grants at most a quarter of what
is left), so near the cap capacity goes where requests are. Concurrent refills of one key
are one round trip (a lock per key).

When the shared store cannot answer, this replica enforces its share of each limit (the limit
divided by the replicas last seen alive) on its own buckets until the store answers again; one
log line per outage.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from llm_gateway.limits.gcra import Grant
from llm_gateway.limits.store import MemoryRateStore, RateStore
from llm_gateway.state.base import StateUnavailable

logger = logging.getLogger("llm_gateway.limits")

RETRY_STORE_S = 1.0  # after a failed round trip, the store is asked again this much later


@dataclass(slots=True)
class _Lease:
    balance: int = 0  # units left (negative: used beyond the lease, charged at its end)
    expires_at: float = 0.0
    slice: int = 1
    limit: int = 1


class LeasedRates:
    """``take``/``adjust`` against ``store``, through leases when the store is shared."""

    def __init__(
        self,
        store: RateStore,
        *,
        lease_s: float = 1.0,
        max_share: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.replicas = 1  # live replicas last seen: this one's share during an outage
        self._lease_s = lease_s
        self._max_share = max_share
        self._clock = clock
        self._leases: dict[str, _Lease] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._local = MemoryRateStore(clock)
        self._down_until = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self.unavailable: str | None = None

    def balances(self) -> list[tuple[str, int]]:
        """``(bucket key, units left)`` of the leases this replica holds now."""
        now = self._clock()
        return [
            (key, lease.balance) for key, lease in self._leases.items() if lease.expires_at > now
        ]

    async def take(self, key: str, need: int, limit: int) -> Grant:
        """``need`` units now, or a refusal saying how long until they could be had."""
        if not self.store.sliced:
            return await self._direct(key, need, limit)
        lease = self._leases.get(key)
        now = self._clock()
        if lease is not None and lease.expires_at > now and lease.balance >= need:
            lease.balance -= need
            return Grant(need)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            return await self._refill(key, need, limit)

    def adjust(self, key: str, delta: int, limit: int) -> None:
        """Units back (``delta`` > 0: reserved and not used) or more used (< 0) after a grant."""
        if delta == 0:
            return
        lease = self._leases.get(key)
        if lease is not None and lease.expires_at > self._clock():
            lease.balance += delta
            return
        if isinstance(self.store, MemoryRateStore):  # this process's buckets: at once
            self.store.give_back_now(key, delta, limit=limit)
            return
        self._spawn(self._give_back(key, delta, limit))

    async def sweep(self) -> None:
        """Give back what expired leases did not use (and charge what they overdrew)."""
        now = self._clock()
        for key, lease in list(self._leases.items()):
            if lease.expires_at <= now and key not in self._busy():
                del self._leases[key]
                await self._give_back(key, lease.balance, lease.limit)
        for key in [k for k, lock in self._locks.items() if not lock.locked()]:
            if key not in self._leases:
                del self._locks[key]

    async def release_all(self) -> None:
        """At shutdown: every lease's unused units back to the store."""
        for lease in self._leases.values():
            lease.expires_at = 0.0
        await self.sweep()

    # -- internals ------------------------------------------------------------------------

    async def _refill(self, key: str, need: int, limit: int) -> Grant:
        now = self._clock()
        lease = self._leases.get(key)
        if lease is not None and lease.limit == limit and lease.balance >= need:
            # still live, or ended and not yet given back: what it holds serves (and renews it)
            if lease.expires_at <= now:
                lease.expires_at = now + self._lease_s
            lease.balance -= need
            return Grant(need)
        if lease is None or lease.limit != limit:
            if lease is not None:
                await self._give_back(key, lease.balance, lease.limit)
            lease = self._leases[key] = _Lease(slice=need, limit=limit)
        # Keep what is left of the current lease; ask for the rest (and any overdraft).
        missing = need - lease.balance
        if lease.expires_at > now and lease.balance < need:
            lease.slice = min(max(lease.slice * 2, need), max(need, int(limit * self._max_share)))
        want = max(missing, lease.slice - lease.balance)
        if not self._store_may_answer():
            return self._local_take(key, need, limit)
        try:
            grant = await self.store.take(key, want=want, need=missing, limit=limit)
        except StateUnavailable as exc:
            self._lost(exc)
            return self._local_take(key, need, limit)
        self._available()
        if not grant.granted:
            return grant
        lease.balance += grant.granted - need
        lease.expires_at = self._clock() + self._lease_s
        return Grant(need)

    async def _direct(self, key: str, need: int, limit: int) -> Grant:
        if self._store_may_answer():
            try:
                grant = await self.store.take(key, want=need, need=need, limit=limit)
            except StateUnavailable as exc:
                self._lost(exc)
            else:
                self._available()
                return grant
        return self._local_take(key, need, limit)

    def _store_may_answer(self) -> bool:
        return self._clock() >= self._down_until

    def _local_take(self, key: str, need: int, limit: int) -> Grant:
        """This replica's share of ``limit``, on its own buckets (the store did not answer)."""
        share = self._share(limit)
        return self._local.take_now(key, want=need, need=min(need, share), limit=share)

    def _share(self, limit: int) -> int:
        return max(1, limit // max(1, self.replicas))

    async def _give_back(self, key: str, amount: int, limit: int) -> None:
        if amount == 0:
            return
        if self.unavailable is not None:
            self._local.give_back_now(key, amount, limit=self._share(limit))
            return
        try:
            await self.store.give_back(key, amount, limit=limit)
        except StateUnavailable as exc:
            self._lost(exc)

    def _busy(self) -> set[str]:
        return {key for key, lock in self._locks.items() if lock.locked()}

    def _lost(self, exc: Exception) -> None:
        self._down_until = self._clock() + RETRY_STORE_S
        if self.unavailable is None:
            logger.error(
                "rate limits: the shared store is unavailable (%s); this replica enforces its "
                "share (1/%d) of every limit on its own until it answers",
                exc,
                max(1, self.replicas),
            )
        self.unavailable = str(exc)

    def _available(self) -> None:
        if self.unavailable is not None:
            logger.warning("rate limits: the shared store answers again")
        self.unavailable = None

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            task = asyncio.get_running_loop().create_task(work)
        except RuntimeError:
            work.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
