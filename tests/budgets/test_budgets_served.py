"""A served gateway with budgets.yaml in front of the simulator: refusals (429 naming scope, cap,
spent, reserved and reset; no upstream call; a ledger row), the remaining-budget header, and the
admin API (GET / PUT / DELETE, audited, durable across a restart)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from tests.budgets.served import (
    LONG_ANSWERS,
    ask,
    budget_row,
    budget_settings,
    budgets,
    config_with_budgets,
    ledger_total,
    sqlite_ledger,
    wait_for,
)
from tests.http.conftest import AUTH
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.simulator.testing import SimulatorHandle


def test_a_request_past_the_cap_is_refused_without_an_upstream_call(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    config = config_with_budgets(tmp_path / "config", 'gateway: {day: "0.000001"}\n')
    settings = budget_settings(tmp_path / "home", config, simulator.base_url)
    with serve(create_app(settings)) as (url, _):
        answer = ask(url)
        assert answer.status_code == 429, answer.text
        error = answer.json()["error"]
        assert error["type"] == "budget_exceeded" and error["code"] == "budget_exceeded"
        budget = error["budget"]
        assert budget["scope"] == "gateway" and budget["period"] == "day"
        assert Decimal(budget["cap"]) == Decimal("0.000001")
        assert Decimal(budget["spent"]) == 0 and Decimal(budget["reserved"]) == 0
        assert Decimal(budget["estimate"]) > Decimal(budget["cap"])
        assert budget["reset_at"].endswith("T00:00:00+00:00") and budget["reset_in_s"] > 0
        assert int(answer.headers["retry-after"]) >= 1
        assert simulator.attempts() == []
        rows = wait_for(lambda: sqlite_ledger(tmp_path / "home" / "records.sqlite3"))
        assert [(r["status"], r["error_type"]) for r in rows] == [("refused", "budget_exceeded")]


def test_requests_stop_at_the_cap_and_answers_say_what_remains(
    tmp_path: Path, simulator: SimulatorHandle, caplog: pytest.LogCaptureFixture
) -> None:
    simulator.set_scenario(LONG_ANSWERS)
    config = config_with_budgets(
        tmp_path / "config", 'nodes:\n  formatter: {hour: "0.004", warn_at: [0.5]}\n'
    )
    settings = budget_settings(tmp_path / "home", config, simulator.base_url)
    with serve(create_app(settings)) as (url, _):
        statuses, remaining = [], []
        for _ in range(40):
            answer = ask(url, "formatter", max_tokens=200)
            statuses.append(answer.status_code)
            if answer.status_code != 200:
                break
            assert answer.headers["x-gateway-budget-scope"] == "node:formatter; period=hour"
            remaining.append(Decimal(answer.headers["x-gateway-budget-remaining"]))
        assert statuses[-1] == 429 and set(statuses[:-1]) == {200}, statuses
        assert len(statuses) > 2
        assert remaining == sorted(remaining, reverse=True)
        assert len(simulator.attempts()) == len(statuses) - 1
        row = budget_row(budgets(url), "node:formatter", "hour")
        assert Decimal(row["spent"]) <= Decimal("0.004")
        assert row["source"] == "file" and row["warn_at"] == [0.5]
        warned = [r.getMessage() for r in caplog.records if r.name == "llm_gateway.budgets"]
        assert len([m for m in warned if "warning at 0.5" in m]) == 1, warned
        metrics = httpx.get(f"{url}/metrics").text
        assert (
            'llm_gateway_budget_warnings_total{at="0.5",period="hour",scope="node:formatter"}'
            in (metrics)
        )
        assert 'llm_gateway_budget_refusals_total{period="hour",scope="node:formatter"} 1.0' in (
            metrics
        )
        # Nothing in flight now: nothing reserved on this replica.
        assert 'llm_gateway_budget_reserved_usd{period="hour",scope="node:formatter"} 0.0' in (
            metrics
        )
        unbudgeted = ask(url, "gpt-4o-mini")  # the default node has no budget
        assert unbudgeted.status_code == 200 and "x-gateway-budget-remaining" not in (
            unbudgeted.headers
        )


def test_admin_sets_and_removes_a_budget_audited_and_durable(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    config = config_with_budgets(tmp_path / "config", 'gateway: {month: "100"}\n')
    settings = budget_settings(tmp_path / "home", config, simulator.base_url)
    base = "/api/admin/gateway/budgets"
    with serve(create_app(settings)) as (url, _):
        assert [(b["scope"], b["period"]) for b in budgets(url)["budgets"]] == [
            ("gateway", "month")
        ]
        put = httpx.put(
            f"{url}{base}/node:writer",
            json={"day": "2.5", "warn_at": [0.9], "reason": "launch week"},
            headers=AUTH,
        )
        assert put.status_code == 200, put.text
        assert put.json()["applied_by"] == 1 and put.json()["caps"]["day"] == "2.5"
        row = budget_row(budgets(url), "node:writer", "day")
        assert row["cap"] == "2.5" and row["source"] == "admin" and row["spent"] == "0"
        assert Decimal(row["remaining"]) == Decimal("2.5") and row["reset_in_s"] > 0
        for bad, status in (
            ({"day": "-1"}, 422),
            ({"dai": "1"}, 422),
        ):
            refused = httpx.put(f"{url}{base}/node:writer", json=bad, headers=AUTH)
            assert refused.status_code == status, refused.text
        assert httpx.put(f"{url}{base}/planet:mars", json={}, headers=AUTH).status_code == 422
        assert httpx.put(f"{url}{base}/node:nowhere", json={}, headers=AUTH).status_code == 404
        assert httpx.put(f"{url}{base}/gateway", json={"day": "1"}).status_code == 401
    # A restart keeps the admin's budget (the record store holds it).
    with serve(create_app(settings)) as (url, _):
        assert budget_row(budgets(url), "node:writer", "day")["cap"] == "2.5"
        gone = httpx.delete(f"{url}{base}/node:writer", headers=AUTH)
        assert gone.status_code == 200 and gone.json()["removed"] is True
        assert not [b for b in budgets(url)["budgets"] if b["scope"] == "node:writer"]
        assert httpx.delete(f"{url}{base}/node:writer", headers=AUTH).status_code == 404
        audit = httpx.get(f"{url}/api/admin/gateway/audit", headers=AUTH).json()
    entries = audit["entries"] if isinstance(audit, dict) else audit
    actions = [(e["action"], e["target"]) for e in entries]
    assert ("budget.set", "node:writer") in actions
    assert ("budget.delete", "node:writer") in actions
    set_entry = next(e for e in entries if e["action"] == "budget.set")
    assert set_entry["after"] == {"day": "2.5", "warn_at": [0.9]}
    assert set_entry["detail"] == "launch week"


def test_a_stream_carries_the_header_and_is_charged_when_it_ends(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    config = config_with_budgets(tmp_path / "config", 'models:\n  gpt-4o-mini: {day: "5"}\n')
    settings = budget_settings(tmp_path / "home", config, simulator.base_url)
    with serve(create_app(settings)) as (url, _):
        with httpx.stream(
            "POST",
            f"{url}/v1/chat/completions",
            json={
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": "hi"}],
                "max_tokens": 30,
                "stream": True,
            },
            timeout=30,
        ) as answer:
            assert answer.status_code == 200
            assert answer.headers["x-gateway-budget-scope"] == "model:gpt-4o-mini; period=day"
            assert Decimal(answer.headers["x-gateway-budget-remaining"]) < 5
            body = b"".join(answer.iter_bytes())
        assert b"[DONE]" in body
        row = budget_row(budgets(url), "model:gpt-4o-mini", "day")
        assert Decimal(row["spent"]) > 0 and row["reserved_in_flight_here"] == "0"


def test_without_redis_a_restart_rebuilds_the_spend_from_the_ledger(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    config = config_with_budgets(tmp_path / "config", 'gateway: {month: "5"}\n')
    settings = budget_settings(tmp_path / "home", config, simulator.base_url)
    with serve(create_app(settings)) as (url, _):
        for _ in range(3):
            assert ask(url).status_code == 200
        before = Decimal(budget_row(budgets(url), "gateway", "month")["spent"])
    assert before > 0
    with serve(create_app(settings)) as (url, _):  # memory counters: a new process's are empty
        after = Decimal(budget_row(budgets(url), "gateway", "month")["spent"])
    rows = sqlite_ledger(tmp_path / "home" / "records.sqlite3")
    assert abs(after - ledger_total(rows)) <= Decimal("1e-9")  # one rounding, to nano-USD
    assert abs(after - before) <= Decimal("1e-9") * len(rows)
