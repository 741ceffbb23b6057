"""``POST /v1/rollout/records``: the records of v1 calls made in another process land in this
gateway's ledger (arm v1, the cost by the gateway's rules) exactly once; a bad record is a 422
naming the field and nothing is written; client keys name the caller."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.http.conftest import make_settings
from tests.rollout.app_harness import running_app

from llm_gateway.cost import compute_cost
from llm_gateway.providers.base import Usage
from llm_gateway.request_info import new_trace_id
from llm_gateway.rollout.evidence import arm_evidence
from llm_gateway.rollout.v1_wire import MAX_BATCH, RECORDS_PATH

LEDGER = "/api/admin/gateway/ledger"
KEY = "sk-team-a-0123456789abcdef"


def record(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": new_trace_id(),
        "at": datetime.now(UTC).isoformat(),
        "trace_id": "trace-v1-remote",
        "node": "formatter",
        "model": "gemini-2.5-flash",
        "status": "ok",
        "input_tokens": 1200,
        "output_tokens": 300,
        "cached_tokens": 200,
        "latency_ms": 812.5,
        "cost_usd": "0.00123",
        "cost_source": "provider",
    }
    values.update(overrides)
    return values


def settings_for(tmp_path: Path, **overrides: Any) -> Any:
    return make_settings(
        tmp_path,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/records.sqlite3",
        GATEWAY_LEDGER_SPOOL_DIR=str(tmp_path / "spool"),
        **overrides,
    )


async def ledger(admin: httpx.AsyncClient) -> list[dict[str, Any]]:
    answer = await admin.get(LEDGER)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["rows"])


async def test_records_land_in_the_ledger_as_v1_with_the_gateways_cost(tmp_path: Path) -> None:
    provider = record()
    listed = record(cost_source="policy", cost_usd="999", node="qa_default", stream=True)
    listed["ttft_ms"] = 95.0
    failed = record(status="error", error_type="provider_timeout", cost_source="none")
    failed["cost_usd"] = "0"
    async with running_app(settings_for(tmp_path)) as (app, admin):
        answer = await admin.post(RECORDS_PATH, json={"records": [provider, listed, failed]})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"accepted": 3, "duplicates": 0}
        rows = {row["id"]: row for row in await ledger(admin)}
        gateway = app.state.llm_gateway
        evidence = await arm_evidence(gateway.records.store, 3600)
        trace = (await admin.get("/api/admin/gateway/traces/trace-v1-remote")).json()

    assert set(rows) == {provider["id"], listed["id"], failed["id"]}
    assert {row["arm"] for row in rows.values()} == {"v1"}
    kept = rows[provider["id"]]
    assert kept["cost_usd"] == "0.00123" and kept["cost_source"] == "provider"
    assert kept["model"] == "gemini-2.5-flash" and kept["provider"] == "openrouter"
    assert kept["at"] == datetime.fromisoformat(provider["at"]).isoformat(timespec="microseconds")
    assert kept["trace_id"] == "trace-v1-remote" and kept["node"] == "formatter"
    assert kept["input_tokens"] == 1200 and kept["cached_tokens"] == 200
    assert kept["client_key_id"] is None and kept["latency_ms"] == 812.5
    # A list-price cost is the gateway's own arithmetic on its catalogue, not what was sent.
    policy = gateway.registry.find_policy("gemini-2.5-flash")
    usage = Usage(prompt_tokens=1200, completion_tokens=300, cached_prompt_tokens=200)
    recomputed = rows[listed["id"]]
    assert Decimal(recomputed["cost_usd"]) == compute_cost(usage, policy).total
    assert recomputed["cost_source"] == "policy"
    assert recomputed["node"] == "qa_*"  # labelled by the gateway's catalogue
    assert recomputed["stream"] is True and recomputed["ttft_ms"] == 95.0
    assert rows[failed["id"]]["status"] == "error" and rows[failed["id"]]["cost_usd"] == "0"
    assert rows[failed["id"]]["error_type"] == "provider_timeout"
    # The rollback guard's evidence counts them: two answered, one failed.
    assert evidence["v1"].requests == 3 and evidence["v1"].errors == 1
    assert evidence["v2"].requests == 0
    assert trace["arm"] == "v1" and trace["reported"] is True
    assert trace["request_id"] in rows  # the trace and its ledger row share the request id


async def test_a_record_sent_again_is_stored_once(tmp_path: Path) -> None:
    once = record()
    async with running_app(settings_for(tmp_path)) as (_app, admin):
        first = await admin.post(RECORDS_PATH, json={"records": [once, once]})
        again = await admin.post(RECORDS_PATH, json={"records": [once]})
        rows = await ledger(admin)
    assert first.json() == {"accepted": 1, "duplicates": 1}
    assert again.json() == {"accepted": 0, "duplicates": 1}
    assert [row["id"] for row in rows] == [once["id"]]


async def test_a_record_the_ledger_has_is_a_duplicate_after_a_restart(tmp_path: Path) -> None:
    once = record()
    async with running_app(settings_for(tmp_path)) as (_app, admin):
        assert (await admin.post(RECORDS_PATH, json={"records": [once]})).status_code == 200
        await ledger(admin)  # committed
    # A new process (no memory of the id), even with a different time for the same id.
    later = {**once, "at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()}
    async with running_app(settings_for(tmp_path)) as (_app, admin):
        answer = await admin.post(RECORDS_PATH, json={"records": [later]})
        rows = await ledger(admin)
    assert answer.json() == {"accepted": 0, "duplicates": 1}
    assert len(rows) == 1


@pytest.mark.parametrize(
    ("bad", "param"),
    [
        ({"model": "no-such-model"}, "records[1].model"),
        ({"node": "no_such_node"}, "records[1].node"),
        ({"input_tokens": "12"}, "records[1].input_tokens"),
        ({"input_tokens": -1}, "records[1].input_tokens"),
        ({"cost_usd": "NaN"}, "records[1].cost_usd"),
        ({"cost_source": "guess"}, "records[1].cost_source"),
        ({"status": "error"}, "records[1].error_type"),
        ({"at": "2026-01-01T00:00:00"}, "records[1].at"),
        ({"at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}, "records[1].at"),
        ({"id": "x"}, "records[1].id"),
        ({"arm": "v2"}, "records[1].arm"),
        ({"trace_id": "has spaces"}, "records[1].trace_id"),
    ],
)
async def test_a_bad_record_is_a_422_naming_the_field_and_nothing_is_written(
    tmp_path: Path, bad: dict[str, Any], param: str
) -> None:
    async with running_app(settings_for(tmp_path)) as (_app, admin):
        answer = await admin.post(RECORDS_PATH, json={"records": [record(), record(**bad)]})
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["param"] == param
        assert error["message"].startswith(param)
        assert await ledger(admin) == []


async def test_a_batch_is_bounded(tmp_path: Path) -> None:
    async with running_app(settings_for(tmp_path)) as (_app, admin):
        big = await admin.post(RECORDS_PATH, json={"records": [record()] * (MAX_BATCH + 1)})
        empty = await admin.post(RECORDS_PATH, json={"records": []})
        extra = await admin.post(RECORDS_PATH, json={"records": [record()], "more": 1})
    assert big.status_code == 422 and big.json()["error"]["param"] == "records"
    assert empty.status_code == 422 and empty.json()["error"]["param"] == "records"
    assert extra.status_code == 422 and extra.json()["error"]["param"] == "more"


async def test_with_client_keys_the_key_names_the_record_and_none_is_refused(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path, GATEWAY_API_KEYS=f"team-a:{KEY}")
    async with running_app(settings) as (_app, admin):
        body = {"records": [record()]}
        anonymous = await admin.post(RECORDS_PATH, json=body, headers={"authorization": ""})
        bad_body = await admin.post(RECORDS_PATH, json={}, headers={"authorization": ""})
        flags = await admin.get("/v1/rollout", headers={"authorization": ""})
        keyed = await admin.post(
            RECORDS_PATH, json=body, headers={"authorization": f"Bearer {KEY}"}
        )
        rows = await ledger(admin)
    assert anonymous.status_code == 401
    assert bad_body.status_code == 401  # the key is checked before the body
    assert flags.status_code == 401  # GET /v1/rollout takes the same client keys
    assert keyed.status_code == 200, keyed.text
    assert [row["client_key_id"] for row in rows] == ["team-a"]
    assert KEY not in keyed.text


async def test_without_a_record_store_records_count_in_memory(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path, DATABASE_URL="")) as (app, admin):
        once = record()
        first = await admin.post(RECORDS_PATH, json={"records": [once]})
        again = await admin.post(RECORDS_PATH, json={"records": [once]})
        metrics = await app.state.llm_gateway.tracer.get_trace_metrics(hours=1)
    assert first.json() == {"accepted": 1, "duplicates": 0}
    assert again.json() == {"accepted": 0, "duplicates": 1}
    assert metrics["request_count"] == 1
    assert metrics["model_distribution"] == {"gemini-2.5-flash": 1}


async def test_on_postgresql_a_record_is_stored_once_across_replicas(
    tmp_path: Path, pg_url: str
) -> None:
    once = record(at=(datetime.now(UTC) - timedelta(days=40)).isoformat())  # an older partition
    settings = make_settings(
        tmp_path,
        DATABASE_URL=pg_url,
        GATEWAY_DB_AUTO_MIGRATE=True,
        GATEWAY_LEDGER_SPOOL_DIR=str(tmp_path / "spool"),
    )
    async with running_app(settings) as (_app, first):
        taken = await first.post(RECORDS_PATH, json={"records": [once]})
        await ledger(first)  # committed
    other = make_settings(
        tmp_path / "b", DATABASE_URL=pg_url, GATEWAY_LEDGER_SPOOL_DIR=str(tmp_path / "b-spool")
    )
    async with running_app(other) as (app, second):
        again = await second.post(RECORDS_PATH, json={"records": [once, record()]})
        rows = (await second.get(f"{LEDGER}?from=2000-01-01")).json()["rows"]
        evidence = await arm_evidence(app.state.llm_gateway.records.store, 3600 * 24 * 60)
    assert taken.json() == {"accepted": 1, "duplicates": 0}
    assert again.json() == {"accepted": 1, "duplicates": 1}
    assert len(rows) == 2 and [r["id"] for r in rows].count(once["id"]) == 1
    assert evidence["v1"].requests == 2
