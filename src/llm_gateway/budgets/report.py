"""``GET /budgets``: every capped scope and period as the shared counters hold it now — or, while
they do not answer, as this replica last saw them (``as_of: "last_sync"``)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from typing import Any

from llm_gateway.budgets.config import usd
from llm_gateway.budgets.local import LocalCounter

_SYNC_WAIT_S = 5.0


async def budget_report(manager: Any) -> list[dict[str, Any]]:
    """Cap, spent, reserved (every replica's leases), remaining and reset per scope and period,
    after handing this replica's settled spend over; a counter that does not exist yet is
    rebuilt from the ledger first. Raises StateUnavailable when the counters do not answer."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(manager.sync_now(), _SYNC_WAIT_S)
    now = time.time()
    counters = manager.current_counters(now)
    views = await manager.store.read([c.key for c in counters])
    if any(view is None for view in views):
        for counter, view in zip(counters, views, strict=True):
            if view is None:
                await manager.syncer.rebuild(counter, 0)
        views = await manager.store.read([c.key for c in counters])
    rows = []
    for counter, view in zip(counters, views, strict=True):
        spent = view.spent if view else 0
        leased = view.leased if view else 0
        holders = view.holders if view else 0
        rows.append(_row(manager, counter, now, spent, leased, holders, "now"))
    return rows


def last_known_report(manager: Any) -> list[dict[str, Any]]:
    """The same rows from this replica's counters while the shared ones do not answer: the
    shared spend and other replicas' leases as of the last sync, plus what this replica has
    settled and reserved since."""
    now = time.time()
    rows = []
    for counter in manager.current_counters(now):
        spent = counter.spent + counter.pending
        leased = counter.others + counter.reserved
        rows.append(_row(manager, counter, now, spent, leased, counter.holders, "last_sync"))
    return rows


def _row(
    manager: Any,
    counter: LocalCounter,
    now: float,
    spent: int,
    leased: int,
    holders: int,
    as_of: str,
) -> dict[str, Any]:
    return {
        "scope": counter.scope,
        "period": counter.period.value,
        "source": "admin" if counter.scope in manager.admin else "file",
        "currency": "USD",
        "cap": usd(counter.cap),
        "spent": usd(spent),
        "reserved": usd(leased),
        "reserved_in_flight_here": usd(counter.reserved),
        "remaining": usd(max(0, counter.cap - spent - leased)),
        "reset_at": datetime.fromtimestamp(counter.end_ts, UTC).isoformat(timespec="seconds"),
        "reset_in_s": max(0, round(counter.end_ts - now)),
        "replicas_holding": holders,
        "warn_at": list(manager.thresholds(counter.scope)),
        "as_of": as_of,
        "refusals_here": counter.refusals,
        "last_refusal_here": _last_refusal(counter),
    }


def _last_refusal(counter: LocalCounter) -> dict[str, Any] | None:
    """When this replica last refused an admission on the counter, and what it needed (None
    when the counter could not be read at all)."""
    if not counter.refusals:
        return None
    estimate = counter.last_refused_estimate
    return {
        "at": datetime.fromtimestamp(counter.last_refusal_at, UTC).isoformat(timespec="seconds"),
        "estimate": usd(estimate) if estimate is not None else None,
    }
