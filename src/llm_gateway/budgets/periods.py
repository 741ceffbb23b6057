"""Budget periods: calendar hours, days and months in UTC.

A period's id names its counter (``day:2026-12-03``); its end is when the counter resets. The
ledger's rows are timestamped in UTC, so the spend of a period can be summed from it exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum


class Period(StrEnum):
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"


def period_window(period: Period, at: datetime) -> tuple[str, datetime, datetime]:
    """``(id, start, end)`` of the ``period`` holding ``at`` (UTC); ``end`` is exclusive."""
    at = at.astimezone(UTC)
    if period is Period.HOUR:
        start = at.replace(minute=0, second=0, microsecond=0)
        return f"hour:{start:%Y-%m-%dT%H}", start, start + timedelta(hours=1)
    if period is Period.DAY:
        start = at.replace(hour=0, minute=0, second=0, microsecond=0)
        return f"day:{start:%Y-%m-%d}", start, start + timedelta(days=1)
    start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return f"month:{start:%Y-%m}", start, end
