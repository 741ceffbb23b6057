"""One replica's side of one budget counter: the lease it holds and what it did with it.

``granted`` is the lease (capacity the shared counter set aside for this replica); admissions
reserve from it without a round trip while ``free`` covers their estimate; settled spend waits in
``pending`` until the next sync moves it into the shared ``spent``. ``spent``, ``others`` and
``holders`` are the shared counter as the last sync saw it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from llm_gateway.budgets.counters import SyncAnswer, SyncItem
from llm_gateway.budgets.periods import Period

MIN_SLICE_ESTIMATES = 4  # a lease grows by at least this many of the latest estimates


@dataclass(slots=True, eq=False)
class LocalCounter:
    key: str  # "<scope>|<period id>": the shared counter's name
    scope: str
    period: Period
    cap: int
    start: datetime
    end_ts: float  # unix seconds: the period's end, when the counter resets
    granted: int = 0
    reserved: int = 0
    pending: int = 0
    waiting: int = 0  # estimates of admissions waiting for a sync
    need_min: int = 0  # the smallest of them
    used: int = 0  # reserved since the last sync: sizes the next slice
    last_estimate: int = 0
    spent: int = 0
    others: int = 0
    holders: int = 1
    replicas: int = 1  # live replicas of the deployment at the last sync
    present: bool = False  # the shared counter answered at least once
    refused: bool = False  # the last sync could not let a waiting admission in
    outage_share: bool = False
    renew_at: float = 0.0  # monotonic: renew the lease by then
    warned: float = 0.0  # the highest warning threshold crossed
    refusals: int = 0  # admissions this replica refused on this counter (this period)
    last_refusal_at: float = 0.0  # unix seconds
    last_refused_estimate: int | None = None  # what the last refused admission needed
    _granted_before: int = 0  # the lease before the sync in flight (restored if it fails)

    @property
    def free(self) -> int:
        return self.granted - self.reserved - self.pending

    @property
    def remaining(self) -> int:
        """What the cap still allows, as this replica knows it (leases of others held back)."""
        return self.cap - self.spent - self.others - self.reserved - self.pending

    def due(self, now: float) -> bool:
        """Whether the next sync has something to say for this counter."""
        return bool(
            self.pending
            or self.waiting
            or self.used
            or self.granted > self.reserved
            or (self.granted and now >= self.renew_at)
        )

    def prepare(self) -> tuple[SyncItem, int]:
        """The sync item, and the settled spend it moves (taken off ``pending`` now: a failed
        sync gives it back with :meth:`restore`). An idle counter returns its spare lease."""
        delta = self.pending
        self.pending = 0
        self.granted -= delta
        self._granted_before = self.granted + delta
        idle = not self.used and not self.waiting
        if idle:
            self.granted = self.reserved
        hold = self.granted
        need = self.reserved + self.need_min if self.waiting else 0
        want = hold
        if not idle:
            grow = max(MIN_SLICE_ESTIMATES * self.last_estimate, 2 * self.used)
            want = max(hold, self.reserved + self.waiting + grow)
        self.used = 0
        item = SyncItem(self.key, self.cap, delta, hold, max(want, need), need)
        return item, delta

    def restore(self, delta: int) -> None:
        """The sync failed or found no shared counter: back to the lease held before it."""
        self.pending += delta
        self.granted = self._granted_before

    def adopt(self, answer: SyncAnswer, renew_at: float) -> None:
        self.present = True
        self.granted = answer.lease
        self.spent = answer.spent
        self.others = answer.others
        self.holders = answer.holders
        self.replicas = answer.replicas
        self.refused = not answer.ok
        self.renew_at = renew_at

    def take_outage_share(self) -> None:
        """Shared counters unreachable (fail mode ``local``): add this replica's share of what
        was left unleased at the last sync — divided among the deployment's live replicas, idle
        ones included — once per outage."""
        if self.present and not self.outage_share:
            unleased = self.cap - self.spent - self.others - self.granted
            self.granted += max(0, unleased) // max(1, self.holders, self.replicas)
            self.outage_share = True
