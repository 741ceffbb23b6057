"""What the record writer counts and says about its own troubles: outages of the record store
and of the local spool, each logged once when it starts and once when it ends."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from llm_gateway.storage.store import reason

logger = logging.getLogger("llm_gateway.storage")


@dataclass(slots=True)
class WriterStats:
    rows_written: int = 0
    traces_written: int = 0
    traces_shed: int = 0
    backpressure_waits: int = 0
    outages: int = 0
    spool_errors: int = 0
    rows_rejected: int = 0
    last_error: str | None = None
    outage_since: float | None = None


class WriterHealth:
    """The writer's outage bookkeeping: counters in :attr:`stats`, one line per transition."""

    def __init__(self, store_description: str, spool_directory: object) -> None:
        self.stats = WriterStats()
        self._store = store_description
        self._spool = spool_directory
        self._spool_failing = False

    @property
    def in_outage(self) -> bool:
        return self.stats.outage_since is not None

    def outage(self, exc: BaseException) -> None:
        self.stats.last_error = reason(exc)
        if self.stats.outage_since is None:
            self.stats.outage_since = time.monotonic()
            self.stats.outages += 1
            logger.error(
                "record store %s unreachable (%s): ledger rows are kept in the local spool %s "
                "and delivered when it answers again",
                self._store,
                self.stats.last_error,
                self._spool,
            )

    def recovered(self) -> None:
        if self.stats.outage_since is not None:
            lasted = time.monotonic() - self.stats.outage_since
            self.stats.outage_since = None
            logger.warning(
                "record store %s answers again after %.1f s: the spooled ledger rows are written",
                self._store,
                lasted,
            )

    def spool_failed(self, exc: BaseException, waiting_rows: int) -> None:
        self.stats.spool_errors += 1
        if not self._spool_failing:
            self._spool_failing = True
            logger.error(
                "cannot write the ledger spool %s (%s): %d ledger rows wait in memory, retried",
                self._spool,
                reason(exc),
                waiting_rows,
            )

    def spool_recovered(self) -> None:
        if self._spool_failing:
            self._spool_failing = False
            logger.warning("the ledger spool %s is written again", self._spool)
