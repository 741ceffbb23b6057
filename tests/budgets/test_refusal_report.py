"""What ``GET /budgets`` says of refusals: each row counts the admissions this replica refused
on it this period, with when and what the last one needed — so a budget whose remaining is above
zero but below what requests need reads as refusing. A refusal is also a kept trace."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from tests.budgets.test_manager import MESSAGES, _gateway, _manager

from llm_gateway.budgets.counters import MemoryBudgetCounters
from llm_gateway.budgets.refusals import BudgetRefused
from llm_gateway.gateway import Route


async def test_a_refusal_is_counted_on_its_row_with_what_it_needed(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path, 'gateway: {day: "0.0000001"}\nnodes:\n  writer: {day: "5"}\n')
    manager = _manager(gateway, MemoryBudgetCounters())
    [before] = [r for r in await manager.report() if r["scope"] == "gateway"]
    assert before["refusals_here"] == 0 and before["last_refusal_here"] is None
    for _ in range(2):
        with pytest.raises(BudgetRefused) as refused:
            await gateway.complete({"messages": MESSAGES, "max_tokens": 20}, Route())
    rows = {r["scope"]: r for r in await manager.report()}
    gateway_row = rows["gateway"]
    assert gateway_row["refusals_here"] == 2
    last = gateway_row["last_refusal_here"]
    assert last["estimate"] == refused.value.estimate
    assert Decimal(last["estimate"]) > Decimal(gateway_row["remaining"])
    assert last["at"].endswith("+00:00")
    assert rows["node:writer"]["refusals_here"] == 0  # another scope refused nothing

    traces = gateway.tracer.list_traces(1, status="refused")
    assert len(traces) == 2
    trace = traces[0]
    assert trace["error"]["type"] == "budget_exceeded" and trace["attempts"] == []
    assert trace["cost"]["total"] == "0" and trace["selected_model"]
