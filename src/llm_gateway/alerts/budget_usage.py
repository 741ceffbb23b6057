"""Where ``budget_used`` reads from: any :class:`BudgetUsage` — a small protocol, so alerts do
not depend on how budgets are kept. :func:`budget_usage_of` adapts the gateway's budget manager
(``gateway.budgets`` with its ``report()`` rows: scope, period, cap, spent, reserved) when one
is attached; without one, or with no budget in it, a ``budget_used`` rule is reported as "no
budgets configured"."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Protocol


class BudgetUsage(Protocol):
    async def usage(self) -> list[tuple[str, float]]:
        """``(scope, used fraction)`` per budget: (spent + reserved) / cap."""
        ...


class ReportedBudgets:
    """A budget manager's ``report()`` as usage; scope ``<scope>/<period>``."""

    def __init__(self, manager: Any) -> None:
        self._manager = manager

    async def usage(self) -> list[tuple[str, float]]:
        out = []
        for row in await self._manager.report():
            try:
                cap = Decimal(str(row["cap"]))
                used = Decimal(str(row.get("spent", 0))) + Decimal(str(row.get("reserved", 0)))
            except (KeyError, InvalidOperation):
                continue
            if cap > 0:
                out.append((f"{row.get('scope')}/{row.get('period')}", float(used / cap)))
        return out


def budget_usage_of(gateway: Any) -> BudgetUsage | None:
    manager = getattr(gateway, "budgets", None)
    if manager is None:
        return None
    if hasattr(manager, "usage"):
        return manager
    return ReportedBudgets(manager) if hasattr(manager, "report") else None
