"""``CounterSync``: how one replica's budget counters meet the shared ones.

A sync is one call to the shared counters for every local counter with something to say
(:meth:`LocalCounter.due`): settled spend handed over, leases renewed, grown or returned. Callers
that need one (an admission its lease does not cover) share the next: :meth:`sync_now` waits for
a sync that *starts* after the call. A shared counter that does not exist is rebuilt from the
ledger's spend of its period, then adopted in the same round. A sync that fails marks the
counters unavailable (one ERROR line per outage); in fail mode ``local`` each counter then takes
its share of what was left unleased; while unavailable every counter is tried at each sync, so
that recovery is seen without a request asking.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal

from llm_gateway.budgets.config import from_units, to_units
from llm_gateway.budgets.counters import BudgetCounters
from llm_gateway.budgets.local import LocalCounter
from llm_gateway.budgets.periods import Period
from llm_gateway.state.base import StateUnavailable

logger = logging.getLogger("llm_gateway.budgets")

LedgerSpend = Callable[[str, datetime], Awaitable[Decimal]]


class CounterSync:
    def __init__(
        self,
        store: BudgetCounters,
        counters: dict[str, LocalCounter],
        current: dict[tuple[str, Period], LocalCounter],
        *,
        replica_id: str,
        fail_mode: str,
        ledger_spend: LedgerSpend | None,
        lease_ttl_s: float,
        before_sync: Callable[[float], None],
    ) -> None:
        self.store = store
        self.replica_id = replica_id
        self.fail_mode = fail_mode
        self.unavailable: str | None = None
        self._counters = counters
        self._current = current
        self._ledger_spend = ledger_spend
        self._lease_ttl_s = lease_ttl_s
        self._before_sync = before_sync
        self._lock = asyncio.Lock()
        self._next: asyncio.Future[None] | None = None
        self._spawned: set[asyncio.Task[None]] = set()

    async def sync_now(self) -> None:
        """Wait for a sync that starts after this call (one shared by every caller meanwhile)."""
        if self._next is None:
            loop = asyncio.get_running_loop()
            self._next = loop.create_future()
            task = loop.create_task(self._chain())
            self._spawned.add(task)
            task.add_done_callback(self._spawned.discard)
        await asyncio.shield(self._next)

    async def _chain(self) -> None:
        async with self._lock:
            waiting, self._next = self._next, None
            try:
                await self._once()
            finally:
                if waiting is not None and not waiting.done():
                    waiting.set_result(None)

    async def _once(self, *, again: bool = True) -> None:
        now = time.monotonic()
        self._before_sync(now)
        probing = self.unavailable is not None
        due = [c for c in list(self._counters.values()) if probing or c.due(now)]
        sent = [(c, *c.prepare()) for c in due]
        if not sent:
            self._retire()
            return
        try:
            answers = await self.store.sync(
                self.replica_id, [item for _, item, _ in sent], self._lease_ttl_s
            )
        except StateUnavailable as exc:
            for counter, _, delta in sent:
                counter.restore(delta)
            self._outage(str(exc))
            return
        self._available()
        renew_at = time.monotonic() + self._lease_ttl_s / 3
        missing = []
        for (counter, _, delta), answer in zip(sent, answers, strict=True):
            if answer.present:
                counter.adopt(answer, renew_at)
            else:
                counter.restore(delta)
                counter.present = False
                missing.append((counter, delta))
        for counter, delta in missing:
            await self.rebuild(counter, delta)
        if missing and again:
            await self._once(again=False)  # adopt the rebuilt counters now
        self._retire()

    async def rebuild(self, counter: LocalCounter, delta: int) -> None:
        """Create the shared counter with the ledger's spend of its period so far."""
        spent = 0
        if self._ledger_spend is not None:
            try:
                spent = to_units(await self._ledger_spend(counter.scope, counter.start))
            except Exception as exc:
                logger.error(
                    "budget %s: cannot read its spend from the ledger (%s); not rebuilt",
                    counter.key,
                    exc,
                )
                return
        try:
            created = await self.store.init(counter.key, spent, counter.end_ts)
        except StateUnavailable as exc:
            self._outage(str(exc))
            return
        if created:
            if delta:  # settled here, flushed to the ledger before it was read: counted there
                counter.pending -= delta
                counter.granted -= delta
            logger.info(
                "budget %s rebuilt from the ledger: %s USD spent", counter.key, from_units(spent)
            )

    def _retire(self) -> None:
        """Forget counters of past periods once nothing is held or owed on them."""
        now = time.time()
        for key, counter in list(self._counters.items()):
            idle = not counter.reserved and not counter.pending and not counter.granted
            if counter.end_ts <= now and idle:
                del self._counters[key]
                if self._current.get((counter.scope, counter.period)) is counter:
                    del self._current[(counter.scope, counter.period)]

    def _outage(self, reason: str) -> None:
        if self.unavailable is None:
            logger.error(
                "budget counters unavailable (%s): %s",
                reason,
                "refusing budgeted requests (GATEWAY_BUDGET_FAIL_MODE=closed)"
                if self.fail_mode == "closed"
                else "each replica enforces its share of what remained "
                "(GATEWAY_BUDGET_FAIL_MODE=local)",
            )
        self.unavailable = reason
        if self.fail_mode == "local":
            for counter in self._counters.values():
                counter.take_outage_share()

    def _available(self) -> None:
        if self.unavailable is not None:
            logger.warning("budget counters available again: spend handed over")
            self.unavailable = None
            for counter in self._counters.values():
                counter.outage_share = False
