"""What the ledger says of each arm over a window: requests, error rate, p95 latency and cost
per request — the evidence the rollback guard compares and the flags view shows.

Rows of arm ``v1`` are the legacy path, ``v2`` the gateway taking legacy traffic; a refused or
cancelled request counts as neither success nor error (the caller or admission ended it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select

from llm_gateway.storage.schema import ledger
from llm_gateway.storage.store import RecordStore

ARMS = ("v1", "v2")
_JUDGED = ("ok", "error")


@dataclass(frozen=True, slots=True)
class ArmEvidence:
    requests: int = 0
    errors: int = 0
    error_rate: float = 0.0
    p95_latency_ms: float = 0.0
    cost_per_request: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def arm_evidence(
    store: RecordStore, window_s: float, now: datetime | None = None
) -> dict[str, ArmEvidence]:
    """``{"v1": …, "v2": …}`` over the last ``window_s`` seconds of the ledger."""
    since = (now or datetime.now(UTC)) - timedelta(seconds=window_s)
    out: dict[str, ArmEvidence] = {}
    async with store.engine.connect() as connection:
        for arm in ARMS:
            where = [ledger.c.at >= since, ledger.c.arm == arm, ledger.c.status.in_(_JUDGED)]
            errors = func.sum(case((ledger.c.status == "ok", 0), else_=1))
            count, error_count = (
                await connection.execute(select(func.count(), errors).where(*where))
            ).one()
            count = int(count or 0)
            if not count:
                out[arm] = ArmEvidence()
                continue
            offset = min(count - 1, int(0.95 * (count - 1) + 0.5))
            p95 = (
                await connection.execute(
                    select(ledger.c.latency_ms)
                    .where(*where)
                    .order_by(ledger.c.latency_ms)
                    .offset(offset)
                    .limit(1)
                )
            ).scalar()
            total = Decimal(0)
            async for (value,) in await connection.stream(select(ledger.c.cost_usd).where(*where)):
                total += Decimal(value)
            out[arm] = ArmEvidence(
                requests=count,
                errors=int(error_count or 0),
                error_rate=round(int(error_count or 0) / count, 6),
                p95_latency_ms=round(float(p95 or 0.0), 3),
                cost_per_request=float(total / count),
            )
    return out
