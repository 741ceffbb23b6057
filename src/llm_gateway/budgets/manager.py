"""``BudgetManager``: the gateway's budget admission hook on one replica.

    admit(plan)   the request's governing scopes (gateway, its node, its client key, every model
                  its chain can reach) x their capped periods; reserve the estimate (input tokens
                  + max_tokens, or the output cap, at the dearest price of the chain) on each, from
                  this replica's leases — no round trip while they cover it; else one sync shared
                  by every waiting request; refused: BudgetRefused (429) / BudgetUnavailable (503)
    settle(...)   release the reservation, charge the actual cost (the model scope of the model
                  that answered only), locally; the next sync moves it to the shared counters

A background task syncs every ``sync_s`` (:mod:`.syncer`: settled spend handed over, leases
renewed, grown while in use, returned when idle; counters rebuilt from the ledger; the fail
modes). Reservations whose request died without settling are released after its deadline (plus
a grace). While the state store is unreachable: ``closed`` refuses every budgeted request,
``local`` keeps each replica to its lease plus its share of what was left unleased.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from llm_gateway.budgets.config import (
    NO_BUDGETS,
    Budgets,
    ScopeSpec,
    cap_units,
    to_units,
    usd,
)
from llm_gateway.budgets.counters import BudgetCounters
from llm_gateway.budgets.estimate import ReservationEstimator, answering_model
from llm_gateway.budgets.local import LocalCounter
from llm_gateway.budgets.periods import Period, period_window
from llm_gateway.budgets.refusals import BudgetRefused, BudgetUnavailable, refused_by
from llm_gateway.budgets.report import budget_report
from llm_gateway.budgets.syncer import CounterSync, LedgerSpend

logger = logging.getLogger("llm_gateway.budgets")

RESERVATION_GRACE_S = 30.0
_ACQUIRE_ROUNDS = 4
REMAINING_HEADER = "x-gateway-budget-remaining"
SCOPE_HEADER = "x-gateway-budget-scope"


@dataclass(slots=True)
class Reservation:
    counters: list[LocalCounter]
    estimate: int
    scopes: tuple[str, ...]
    expires_at: float  # monotonic


class BudgetManager:
    """See the module doc. ``await start()`` after construction, ``await aclose()`` at the end."""

    def __init__(
        self,
        counters: BudgetCounters,
        *,
        replica_id: str,
        budgets: Budgets = NO_BUDGETS,
        fail_mode: str = "closed",
        ledger_spend: LedgerSpend | None = None,
        sync_s: float = 0.2,
        lease_ttl_s: float = 10.0,
        fallbacks: bool = True,
    ) -> None:
        self.store = counters
        self.replica_id = replica_id
        self.fail_mode = fail_mode
        self._sync_s = sync_s
        self._file = budgets
        self.admin: dict[str, ScopeSpec] = {}
        self.budgets = budgets
        self._caps: dict[str, tuple[tuple[Period, int], ...]] = {}
        self._estimator = ReservationEstimator(fallbacks=fallbacks)
        self._counters: dict[str, LocalCounter] = {}
        self._current: dict[tuple[str, Period], LocalCounter] = {}
        self._live: dict[str, Reservation] = {}
        self._task: asyncio.Task[None] | None = None
        self._swept_at = 0.0
        self.syncer = CounterSync(
            counters,
            self._counters,
            self._current,
            replica_id=replica_id,
            fail_mode=fail_mode,
            ledger_spend=ledger_spend,
            lease_ttl_s=lease_ttl_s,
            before_sync=self._sweep,
        )
        self.warnings: dict[tuple[str, str, float], int] = {}
        self.refusals: dict[tuple[str, str], int] = {}
        self.collector: Any = None  # its Prometheus collector, when registered
        self.unsubscribe: Callable[[], None] = lambda: None  # from the registry's reloads
        self._install()

    # -- configuration ------------------------------------------------------------------------

    def use_file(self, budgets: Budgets) -> None:
        """The config files' budgets (at start and on every reload)."""
        self._file = budgets
        self._install()

    def apply_control(self, state: Any) -> None:
        """The shared control state's admin budget entries (scope → caps), all of them."""
        from llm_gateway.storage.runtime import BUDGET

        self.admin = {scope: _spec(value) for scope, value in state.kind(BUDGET).items()}
        self._install()

    def apply_change(self, kind: str, key: str, value: Any) -> None:
        """One admin change applied on this replica only (the state store is unreachable)."""
        from llm_gateway.storage.runtime import BUDGET

        if kind != BUDGET:
            return
        if value is None:
            self.admin.pop(key, None)
        else:
            self.admin[key] = _spec(value)
        self._install()

    def _install(self) -> None:
        budgets = self._file.overlaid(self.admin)
        caps = {
            scope: tuple((period, cap_units(amount)) for period, amount in spec.caps().items())
            for scope, spec in budgets.scopes.items()
        }
        self._caps = {scope: periods for scope, periods in caps.items() if periods}
        for counter in self._counters.values():
            periods = dict(self._caps.get(counter.scope, ()))
            if counter.period in periods:
                counter.cap = periods[counter.period]
        self.budgets = budgets

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="llm-gateway-budgets")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sync_now(), 2.0)  # hand settled spend over
        for counter in self._counters.values():
            counter.used = 0
        await self.store.aclose()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._sync_s)
            try:
                await self.sync_now()
            except Exception:
                logger.exception("budget sync failed; retried")

    # -- admission ------------------------------------------------------------------------------

    async def admit(self, plan: Any) -> None:
        """Reserve the request's estimate on every counter that governs it (see module doc)."""
        if not self._caps:
            return
        scopes = self._scopes(plan)
        if not scopes:
            return
        estimate = self._estimator.reserve(plan, self.budgets, scopes)
        now = time.time()
        counters = [
            self._counter(scope, period, cap, now)
            for scope in scopes
            for period, cap in self._caps[scope]
        ]
        if not self._take(counters, estimate):
            await self._acquire(counters, estimate)
        deadline = plan.deadline_at + RESERVATION_GRACE_S
        self._live[plan.request_id] = Reservation(counters, estimate, scopes, deadline)
        if plan.stream:  # its headers leave before it settles; a whole answer's after
            self._headers(plan, counters)

    async def settle(self, plan: Any, cost: Any, ok: bool) -> None:
        """Release the reservation and charge the actual cost (never raises, no I/O)."""
        reservation = self._live.pop(plan.request_id, None)
        if reservation is None:
            return
        for counter in reservation.counters:
            counter.reserved -= reservation.estimate
        actual = to_units(cost.total) if cost.total else 0
        if actual > 0:
            model = answering_model(plan)
            now = time.time()
            for scope in reservation.scopes:
                if scope.startswith("model:") and scope != f"model:{model}":
                    continue
                for period, cap in self._caps.get(scope, ()):
                    counter = self._counter(scope, period, cap, now)
                    counter.pending += actual
                    self._warn(counter)
        if not plan.stream:
            self._headers(plan, reservation.counters)

    def _scopes(self, plan: Any) -> tuple[str, ...]:
        caps = self._caps
        route = plan.route
        found = []
        if "gateway" in caps:
            found.append("gateway")
        node = f"node:{route.node_label}"
        if node in caps:
            found.append(node)
        if route.api_key_id is not None:
            key = f"key:{route.api_key_id}"
            if key in caps:
                found.append(key)
        candidates = plan.selection.candidates
        for policy in candidates if self._estimator.fallbacks else candidates[:1]:
            model = f"model:{policy.logical_id}"
            if model in caps:
                found.append(model)
        return tuple(found)

    def _counter(self, scope: str, period: Period, cap: int, now: float) -> LocalCounter:
        counter = self._current.get((scope, period))
        if counter is not None and now < counter.end_ts:
            return counter
        period_id, start, end = period_window(period, datetime.fromtimestamp(now, UTC))
        key = f"{scope}|{period_id}"
        counter = self._counters.get(key)
        if counter is None:
            counter = LocalCounter(key, scope, period, cap, start, end.timestamp())
            self._counters[key] = counter
        self._current[(scope, period)] = counter
        return counter

    def _take(self, counters: list[LocalCounter], estimate: int) -> bool:
        if self.unavailable is not None and self.fail_mode == "closed":
            raise BudgetUnavailable(counters[0].scope, self.unavailable)
        for counter in counters:
            if counter.free < estimate:
                return False
        for counter in counters:
            counter.reserved += estimate
            counter.used += estimate
            counter.last_estimate = estimate
        return True

    async def _acquire(self, counters: list[LocalCounter], estimate: int) -> None:
        """Wait for syncs until every counter's lease covers ``estimate``; refuse when the
        shared counter says it cannot."""
        blocked: list[LocalCounter] = []
        for _ in range(_ACQUIRE_ROUNDS):
            blocked = [c for c in counters if c.free < estimate]
            if not blocked:
                if self._take(counters, estimate):
                    return
                continue
            if self.unavailable is not None:
                self._refuse_unavailable(blocked, estimate)
            for counter in blocked:
                counter.need_min = (
                    estimate if not counter.waiting else min(counter.need_min, estimate)
                )
                counter.waiting += estimate
                counter.last_estimate = estimate
            try:
                await self.sync_now()
            finally:
                for counter in blocked:
                    counter.waiting -= estimate
                    if not counter.waiting:
                        counter.need_min = 0
            for counter in blocked:
                if counter.present and counter.refused and counter.free < estimate:
                    raise self._refusal(counter, estimate)
        if self._take(counters, estimate):
            return
        blocked = [c for c in counters if c.free < estimate] or counters
        if self.unavailable is not None or not blocked[0].present:
            self._refuse_unavailable(blocked, estimate)
        raise self._refusal(blocked[0], estimate)

    def _refuse_unavailable(self, blocked: list[LocalCounter], estimate: int) -> None:
        never_read = next((c for c in blocked if not c.present), None)
        if self.fail_mode == "closed" or never_read is not None:
            counter = never_read or blocked[0]
            self._count_refusal(counter, None)
            raise BudgetUnavailable(counter.scope, self.unavailable or "not read yet")
        raise self._refusal(
            blocked[0], estimate, " (the state store is unreachable: this replica's share)"
        )

    def _refusal(self, counter: LocalCounter, estimate: int, detail: str = "") -> BudgetRefused:
        self._count_refusal(counter, estimate)
        return refused_by(counter, estimate, detail)

    def _count_refusal(self, counter: LocalCounter, estimate: int | None) -> None:
        key = (counter.scope, counter.period.value)
        self.refusals[key] = self.refusals.get(key, 0) + 1
        counter.refusals += 1
        counter.last_refusal_at = time.time()
        counter.last_refused_estimate = estimate

    def _headers(self, plan: Any, counters: list[LocalCounter]) -> None:
        tightest = min(counters, key=lambda c: c.remaining)
        headers = plan.answer_headers
        headers[REMAINING_HEADER] = usd(max(0, tightest.remaining))
        headers[SCOPE_HEADER] = f"{tightest.scope}; period={tightest.period.value}"

    def _warn(self, counter: LocalCounter) -> None:
        thresholds = self.thresholds(counter.scope)
        if not thresholds or counter.cap <= 0:
            return
        used = (counter.spent + counter.pending) / counter.cap
        crossed = [t for t in thresholds if used >= t > counter.warned]
        if not crossed:
            return
        counter.warned = crossed[-1]
        key = (counter.scope, counter.period.value, counter.warned)
        self.warnings[key] = self.warnings.get(key, 0) + 1
        logger.warning(
            "budget %s (%s): %.0f%% of the cap spent (%s of %s USD; warning at %g)",
            counter.scope,
            counter.period.value,
            used * 100,
            usd(counter.spent + counter.pending),
            usd(counter.cap),
            counter.warned,
        )

    def thresholds(self, scope: str) -> tuple[float, ...]:
        spec = self.budgets.scopes.get(scope)
        if spec is not None and spec.warn_at is not None:
            return spec.warn_at
        return self.budgets.warn_at

    # -- syncing and reports ------------------------------------------------------------------

    @property
    def unavailable(self) -> str | None:
        """Why the shared counters do not answer (None when they do)."""
        return self.syncer.unavailable

    async def sync_now(self) -> None:
        """Wait for a sync that starts after this call (see :class:`CounterSync`)."""
        await self.syncer.sync_now()

    def _sweep(self, now: float) -> None:
        """Release reservations of requests that died without settling (before each sync)."""
        if now - self._swept_at < 1.0:
            return
        self._swept_at = now
        for request_id, reservation in list(self._live.items()):
            if reservation.expires_at < now:
                del self._live[request_id]
                for counter in reservation.counters:
                    counter.reserved -= reservation.estimate

    def current_counters(self, now: float) -> list[LocalCounter]:
        """This period's counter of every capped scope and period."""
        return [
            self._counter(scope, period, cap, now)
            for scope, periods in self._caps.items()
            for period, cap in periods
        ]

    async def report(self) -> list[dict[str, Any]]:
        """``GET /budgets``' rows (:func:`~llm_gateway.budgets.report.budget_report`)."""
        return await budget_report(self)

    @property
    def counters(self) -> Mapping[str, LocalCounter]:
        return self._counters


def _spec(value: Any) -> ScopeSpec:
    fields = {k: v for k, v in dict(value).items() if k in ScopeSpec.model_fields}
    return ScopeSpec.model_validate(fields)
