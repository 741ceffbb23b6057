"""The ledger through the real server: N concurrent mixed requests → exactly N rows, whose
costs are exactly what the callers were told — on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
from tests.http.conftest import AUTH, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.simulator.testing import SimulatorHandle

MESSAGES = [{"role": "user", "content": "Write two sentences about ledgers."}]
SCENARIO = {
    "seed": 11,
    "models": {
        "*": {"ttft_s": 0.0, "tokens_per_s": 5000},
        # gemini-2.5-pro's provider model: retried and fallen back from
        "google/gemini-2.0-flash-exp": {
            "faults": [{"kind": "error", "status": 500, "probability": 0.4}]
        },
        # gpt-4o: a request-shaped refusal now and then (surfaced, not retried: a failure)
        "openai/gpt-4o": {"faults": [{"kind": "content_filter", "probability": 0.25}]},
        # claude-haiku: streams that stall after two tokens, so a caller can leave mid-answer
        "anthropic/claude-3.5-haiku": {
            "faults": [{"kind": "stream_stall", "after_tokens": 2, "stall_s": 3}]
        },
    },
}
KINDS = ("plain", "stream", "gpt4o", "unknown", "cancelled", "node")


async def _one(client: httpx.AsyncClient, kind: str, trace_id: str) -> dict[str, Any]:
    headers = {"X-Trace-Id": trace_id}
    body: dict[str, Any] = {"model": "gemini-2.5-pro", "messages": MESSAGES}
    if kind == "gpt4o":
        body["model"] = "gpt-4o"
    elif kind == "unknown":
        body["model"] = "no-such-model-anywhere"
    elif kind == "cancelled":
        body["model"] = "claude-haiku"
    elif kind == "node":
        body["model"] = "auto"
        headers["X-Gateway-Node"] = "formatter"
    if kind in ("stream", "cancelled"):
        body.update(stream=True, stream_options={"include_usage": True})
        async with client.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r:
            if kind == "cancelled":
                async for line in r.aiter_lines():
                    if line.startswith("data: {"):
                        break  # leave mid-answer: the caller was told no cost
                return {"kind": kind, "status": r.status_code, "cost": None}
            cost = None
            async for line in r.aiter_lines():
                if line.startswith("data: {"):
                    event = orjson.loads(line[6:])
                    usage = event.get("usage")
                    if usage and "cost" in usage:
                        cost = Decimal(repr(usage["cost"]))
            return {"kind": kind, "status": r.status_code, "cost": cost}
    response = await client.post("/v1/chat/completions", json=body, headers=headers)
    told = response.headers.get("x-gateway-cost-usd")
    return {
        "kind": kind,
        "status": response.status_code,
        "cost": Decimal(told) if told is not None else Decimal(0),
    }


async def _run_requests(base_url: str, count: int) -> dict[str, dict[str, Any]]:
    limits = asyncio.Semaphore(12)
    out: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:

        async def one(i: int) -> None:
            trace_id = uuid.uuid4().hex
            async with limits:
                out[trace_id] = await _one(client, KINDS[i % len(KINDS)], trace_id)

        await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(count))), 120)
    return out


def _ledger(base_url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 50}
        if cursor:
            params["cursor"] = cursor
        page = httpx.get(
            f"{base_url}/api/admin/gateway/ledger", params=params, headers=AUTH, timeout=30
        ).json()
        rows.extend(page["rows"])
        cursor = page["next_cursor"]
        if not cursor:
            return rows


async def _check_completeness(
    simulator: SimulatorHandle, tmp_path: Path, database_url: str
) -> None:
    simulator.set_scenario(SCENARIO)
    settings = make_settings(
        tmp_path,
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY="sk-or-ledger-test-1234",
        OPENROUTER_BASE_URL=simulator.base_url,
        DATABASE_URL=database_url,
        GATEWAY_DB_AUTO_MIGRATE=True,
        GATEWAY_LEDGER_SPOOL_DIR=tmp_path / "spool",
    )
    count = 120
    with serve(create_app(settings)) as (base_url, _server):
        told = await _run_requests(base_url, count)
        await asyncio.sleep(0.5)  # the cancelled streams settle once the server sees them leave
        rows = await asyncio.to_thread(_ledger, base_url)
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_trace.setdefault(row["trace_id"], []).append(row)
    assert len(rows) == count
    assert set(by_trace) == set(told)
    assert all(len(v) == 1 for v in by_trace.values()), "a request counted twice"
    statuses = {row["status"] for row in rows}
    assert {"ok", "refused", "cancelled"} <= statuses
    assert any(row["fallback_used"] for row in rows)
    assert any(row["attempts"] > 1 for row in rows)
    assert any(row["status"] == "error" for row in rows)
    told_total = Decimal(0)
    ledger_total = Decimal(0)
    for trace_id, outcome in told.items():
        (row,) = by_trace[trace_id]
        if outcome["kind"] == "unknown":
            assert row["status"] == "refused" and Decimal(row["cost_usd"]) == 0
        if outcome["kind"] == "cancelled":
            assert row["status"] in ("cancelled", "ok")
            continue  # billed (estimated) but the caller had left before being told
        assert Decimal(row["cost_usd"]) == outcome["cost"], (outcome, row)
        told_total += outcome["cost"]
        ledger_total += Decimal(row["cost_usd"])
    assert told_total == ledger_total and told_total > 0


async def test_every_request_has_one_row_on_sqlite(
    simulator: SimulatorHandle, tmp_path: Path
) -> None:
    await _check_completeness(simulator, tmp_path, f"sqlite+aiosqlite:///{tmp_path}/ledger.sqlite3")


async def test_every_request_has_one_row_on_postgresql(
    simulator: SimulatorHandle, tmp_path: Path, pg_url: str
) -> None:
    await _check_completeness(simulator, tmp_path, pg_url)
