"""A Redis of the test's own killed mid-run, under each GATEWAY_BUDGET_FAIL_MODE: ``closed``
refuses budgeted requests (503 budget_unavailable, no upstream call) until Redis answers again;
``local`` keeps serving within what remained, then refuses (429). Either way, Redis comes back
empty and the spend — the outage's included — is rebuilt from the ledger."""

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
from tests.state.own_redis import OwnRedis, free_port

from llm_gateway.app import create_app
from llm_gateway.simulator.testing import SimulatorHandle

ROUNDS = 60  # every loop below is bounded


def _set_cap(url: str, requests_worth: int) -> Decimal:
    probe = ask(url)
    assert probe.status_code == 429, probe.text
    estimate = Decimal(probe.json()["error"]["budget"]["estimate"])
    cap = estimate * requests_worth
    put = httpx.put(
        f"{url}/api/admin/gateway/budgets/gateway", json={"day": f"{cap:f}"}, headers=AUTH
    )
    assert put.status_code == 200, put.text
    return estimate


@pytest.mark.parametrize("mode", ["closed", "local"])
def test_a_redis_outage_under_each_fail_mode(
    tmp_path: Path, simulator: SimulatorHandle, mode: str
) -> None:
    simulator.set_scenario(LONG_ANSWERS)
    own = OwnRedis(tmp_path / "redis").start()
    config = config_with_budgets(tmp_path / "config", 'gateway: {day: "0.0000001"}\n')
    home = tmp_path / "home"
    settings = budget_settings(
        home,
        config,
        simulator.base_url,
        REDIS_URL=own.url,
        GATEWAY_BUDGET_FAIL_MODE=mode,
        GATEWAY_LEDGER_FLUSH_MS=20,
    )
    try:
        with serve(create_app(settings)) as (url, _):
            estimate = _set_cap(url, 12)
            for _ in range(3):
                assert ask(url).status_code == 200

            def spend_synced() -> bool:
                # The three answers settled and synced to the shared counter: what the replica
                # knows at the kill is the spend so far (on a loaded machine a sync can lag).
                ok = [r for r in sqlite_ledger(home / "records.sqlite3") if r["status"] == "ok"]
                listing = budgets(url)
                if not listing["available"]:
                    return False
                spent = Decimal(budget_row(listing, "gateway", "day")["spent"])
                return len(ok) >= 3 and spent >= ledger_total(ok) - Decimal("1e-9") * len(ok) > 0

            wait_for(spend_synced)
            own.kill()
            statuses = []
            for _ in range(ROUNDS):
                answer = ask(url)
                statuses.append(answer.status_code)
                if answer.status_code != 200:
                    break
            refusal = answer.json()["error"]
            health = httpx.get(f"{url}/api/admin/gateway/health", headers=AUTH).json()
            assert health["state"]["budgets"] == {"status": "unavailable", "fail_mode": mode}
            assert any("budget counters unavailable" in w for w in health["warnings"])
            listing = budgets(url)  # still listed during the outage, as last seen
            assert listing["available"] is False and listing["error"]
            during = budget_row(listing, "gateway", "day")
            assert during["as_of"] == "last_sync" and Decimal(during["cap"]) == estimate * 12
            assert Decimal(during["spent"]) > 0
            if mode == "closed":
                assert answer.status_code == 503 and refusal["code"] == "budget_unavailable"
                before = len(simulator.attempts())
                again = ask(url)
                assert again.status_code == 503 and len(simulator.attempts()) == before
            else:
                assert answer.status_code == 429 and refusal["code"] == "budget_exceeded"
                assert "unreachable" in refusal["message"]
                assert statuses.count(200) >= 3  # kept serving on what remained

            def ledger_up_to_the_refusal() -> list[dict[str, object]]:
                rows = sqlite_ledger(home / "records.sqlite3")
                return rows if rows and rows[-1]["status"] == "refused" else []

            rows = wait_for(ledger_up_to_the_refusal)
            assert ledger_total(rows) - estimate * 12 <= estimate  # within the cap

            own.start()  # same port, empty: every counter is gone
            wait_for(lambda: ask(url).status_code in (200, 429), seconds=15)

            def rebuilt_equals_ledger() -> bool:
                listing = budgets(url)  # the first reads after the restart may still fail
                if not listing["available"]:
                    return False
                row = budget_row(listing, "gateway", "day")
                assert row["as_of"] == "now"
                spent = Decimal(row["spent"])
                rows = sqlite_ledger(home / "records.sqlite3")
                return spent > 0 and abs(spent - ledger_total(rows)) <= Decimal("1e-9") * len(rows)

            wait_for(rebuilt_equals_ledger)
    finally:
        own.kill()


def test_a_replica_starting_without_redis_enforces_the_stored_admin_budgets(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    config = config_with_budgets(tmp_path / "config", 'gateway: {month: "100"}\n')
    home = tmp_path / "home"
    with serve(create_app(budget_settings(home, config, simulator.base_url))) as (url, _):
        put = httpx.put(
            f"{url}/api/admin/gateway/budgets/model:gpt-4o-mini",
            json={"day": "0.0000001"},
            headers=AUTH,
        )
        assert put.status_code == 200, put.text
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = budget_settings(home, config, simulator.base_url, REDIS_URL=dead)
    with serve(create_app(settings)) as (url, _):
        listing = budgets(url)
        assert listing["available"] is False
        assert listing["admin"] == {"model:gpt-4o-mini": {"day": "0.0000001"}}
        refused = ask(url)
        assert refused.status_code == 503 and refused.json()["error"]["code"] == (
            "budget_unavailable"
        )
    assert simulator.attempts() == []
