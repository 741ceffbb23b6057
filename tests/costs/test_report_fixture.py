"""The cost report on a fixed ledger, against figures computed here by hand with Decimal from
the list prices of config/model_policies.yaml — on a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from llm_gateway.config.loader import load_catalog
from llm_gateway.costs.ledger_sums import ledger_groups
from llm_gateway.costs.service import read_cost_report, read_ranking
from llm_gateway.storage.records import LedgerRow
from llm_gateway.storage.store import RecordStore

CONFIG = Path(__file__).resolve().parents[2] / "config"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
D = Decimal
Q = D("1E-10")

# (input, cached input, output, reasoning) USD per 1k tokens, copied from model_policies.yaml
PRICES = {
    "gemini-2.5-pro": (D("0.00015"), D("0.00015"), D("0.0006"), D("0.0006")),
    "claude-sonnet": (D("0.003"), D("0.003"), D("0.015"), D("0.015")),
    "gpt-4o": (D("0.0025"), D("0.00125"), D("0.01"), D("0.01")),
    "gemini-2.5-flash": (D("0.0003"), D("0.000075"), D("0.0025"), D("0.0025")),
    "deepseek-chat": (D("0.0002"), D("0.0002"), D("0.00077"), D("0.00077")),
}
# The writer's eligible models: streaming + creative_writing, context >= 8000, tier <= HIGH.
WRITER_ELIGIBLE = set(PRICES)


def row(n: int, days_ago: float, node: str, model: str | None, **fields: object) -> LedgerRow:
    return LedgerRow(
        id=f"row{n:04d}",
        at=NOW - timedelta(days=days_ago),
        trace_id=f"t{n}",
        node=node,
        model=model,
        status=str(fields.pop("status", "ok")),
        cost_usd=D(str(fields.pop("cost", "0"))),
        cost_source="provider",
        latency_ms=float(fields.pop("latency", 100.0)),  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )


FIXTURE = [
    # writer: two answers on claude-sonnet, one failure on gemini-2.5-pro
    row(1, 10, "writer", "claude-sonnet", input_tokens=1000, cached_tokens=200,
        output_tokens=500, cost="0.0099", latency=800.0),
    row(2, 5, "writer", "claude-sonnet", input_tokens=2000, output_tokens=1000, cost="0.021",
        latency=1200.0),
    row(3, 2, "writer", "gemini-2.5-pro", status="error", latency=300.0),
    # formatter: one v2 answer (18 decimals: PostgreSQL's scale) and one v1 answer
    row(4, 3, "formatter", "gpt-4o-mini", arm="v2", input_tokens=400, cached_tokens=100,
        output_tokens=300, reasoning_tokens=50, cost="0.000123456789012345", latency=200.0),
    row(5, 1, "formatter", "gemini-2.5-flash", arm="v1", input_tokens=100, output_tokens=100,
        cost="0.00028", latency=250.0),
    # left out: a shadow request and one older than the window
    row(6, 4, "writer", "gpt-4o", arm="shadow", input_tokens=9999, output_tokens=9999, cost="5"),
    row(7, 40, "writer", "claude-sonnet", input_tokens=5000, output_tokens=5000, cost="1"),
]  # fmt: skip


def priced(model: str, uncached: int, cached: int, visible: int, reasoning: int) -> Decimal:
    p_in, p_cached, p_out, p_reasoning = PRICES[model]
    return (uncached * p_in + cached * p_cached + visible * p_out + reasoning * p_reasoning) / 1000


async def seeded(store: RecordStore) -> None:
    assert await store.insert_ledger(FIXTURE) == len(FIXTURE)


async def test_ledger_sums_are_exact(store: RecordStore) -> None:
    await seeded(store)

    groups = await ledger_groups(store, NOW - timedelta(days=30), NOW)

    by_key = {(g.node, g.model, g.arm): g for g in groups}
    assert set(by_key) == {
        ("writer", "claude-sonnet", None),
        ("writer", "gemini-2.5-pro", None),
        ("formatter", "gpt-4o-mini", "v2"),
        ("formatter", "gemini-2.5-flash", "v1"),
    }
    sonnet = by_key[("writer", "claude-sonnet", None)]
    assert sonnet.cost == D("0.0309")
    assert (sonnet.tokens.uncached_input, sonnet.tokens.cached_input) == (2800, 200)
    assert (sonnet.requests, sonnet.errors, sonnet.ok_latency_ms_sum) == (2, 0, 2000.0)
    assert by_key[("formatter", "gpt-4o-mini", "v2")].cost == D("0.000123456789012345")
    assert by_key[("writer", "gemini-2.5-pro", None)].errors == 1


async def test_report_equals_hand_computed_figures(store: RecordStore) -> None:
    await seeded(store)
    catalog = load_catalog(CONFIG)

    report = await read_cost_report(store, catalog, days=30, now=NOW)

    assert report["status"] == "ok"
    scale = D(30) / D(10)  # the first request in the window was 10 days ago
    assert report["window"]["covered_days"] == 10.0
    writer = next(n for n in report["nodes"] if n["node"] == "writer")
    writer_actual = D("0.0099") + D("0.021")
    assert D(writer["actual_cost_usd"]) == writer_actual
    assert writer["requests"] == 3
    expected = {m: priced(m, 2800, 200, 1500, 0) for m in WRITER_ELIGIBLE}
    cheaper = sorted((c, m) for m, c in expected.items() if c < writer_actual)
    assert [c["model"] for c in writer["candidates"]] == [m for _, m in cheaper]
    assert "claude-sonnet" not in [c["model"] for c in writer["candidates"]]  # dearer
    for candidate in writer["candidates"]:
        cost = expected[candidate["model"]]
        assert D(candidate["cost_usd"]) == cost.quantize(Q)
        assert D(candidate["savings_usd"]) == (writer_actual - cost).quantize(Q)
        assert D(candidate["projected_monthly_savings_usd"]) == (
            (writer_actual - cost) * scale
        ).quantize(Q)
    best = D("0.00135")  # gemini-2.5-pro: (3000 * 0.00015 + 1500 * 0.0006) / 1000
    assert expected["gemini-2.5-pro"] == best
    assert writer["best_candidate"] == "gemini-2.5-pro"
    assert D(writer["potential_savings_usd"]) == writer_actual - best
    # Evidence: gemini-2.5-pro failed its only request on this node
    gemini = writer["candidates"][0]["evidence"]["observed"]
    assert gemini == {
        "requests": 1, "errors": 1, "error_rate": 1.0, "avg_latency_ms": None, "scope": "this node"
    }  # fmt: skip
    # Realised against the writer's v1 model (gemini-2.5-pro): the gateway cost more here
    realised = writer["realised_vs_v1"]
    assert realised["baseline_model"] == "gemini-2.5-pro"
    assert D(realised["savings_usd"]) == best - writer_actual

    formatter = next(n for n in report["nodes"] if n["node"] == "formatter")
    v2_cost = D("0.000123456789012345")
    base_v2 = (300 * D("0.0003") + 100 * D("0.000075") + 300 * D("0.0025")) / 1000
    fr = formatter["realised_vs_v1"]
    assert fr["baseline_model"] == "gemini-2.5-flash"
    assert fr["requests"] == 1  # the v1 request is the baseline itself
    assert D(fr["baseline_cost_usd"]) == base_v2
    assert D(fr["actual_cost_usd"]) == v2_cost.quantize(Q)
    assert D(fr["savings_usd"]) == (base_v2 - v2_cost).quantize(Q)

    totals = report["totals"]
    all_actual = writer_actual + v2_cost + D("0.00028")
    assert totals["requests"] == 5
    assert D(totals["actual_cost_usd"]) == all_actual.quantize(Q)
    assert D(totals["projected_monthly_cost_usd"]) == (all_actual * scale).quantize(Q)
    base_total = best + base_v2
    actual_total = writer_actual + v2_cost
    assert D(totals["realised_vs_v1"]["savings_usd"]) == (base_total - actual_total).quantize(Q)
    pct = ((base_total - actual_total) * 100 / base_total).quantize(D("0.01"))
    assert totals["realised_vs_v1"]["savings_pct"] == float(pct)
    assert totals["realised_vs_v1"]["meets_target"] is False
    potential = D(totals["potential_savings_usd"])
    assert potential == (writer_actual - best + D(formatter["potential_savings_usd"])).quantize(Q)


async def test_empty_ledger_says_so(store: RecordStore) -> None:
    report = await read_cost_report(store, load_catalog(CONFIG), days=30, now=NOW)

    assert report["status"] == "no_data"
    assert "no requests" in report["message"]
    assert report["nodes"] == []
    assert "totals" not in report


async def test_ranking_on_the_last_30_days(store: RecordStore) -> None:
    await seeded(store)

    ranking = await read_ranking(store, load_catalog(CONFIG), "writer", now=NOW)

    assert ranking["status"] == "ok"
    assert ranking["requests"] == 3
    assert ranking["avg_tokens"] == {"input": 1000, "output": 500}  # 3000 / 3, 1500 / 3
    models = [r["model"] for r in ranking["ranked"]]
    assert set(models) == WRITER_ELIGIBLE
    by_model = {r["model"]: r for r in ranking["ranked"]}
    assert by_model["gemini-2.5-pro"]["error_rate"] == 1.0  # observed, and it weighs
    assert by_model["claude-sonnet"]["latency_source"] == "observed"
    assert D(by_model["deepseek-chat"]["cost_usd"]) == priced("deepseek-chat", 2800, 200, 1500, 0)
    nobody = await read_ranking(store, load_catalog(CONFIG), "citation_master", now=NOW)
    assert nobody["status"] == "no_data"


async def test_shadow_comparisons_are_the_nodes_quality_evidence(store: RecordStore) -> None:
    from sqlalchemy import insert

    from llm_gateway.storage.schema import shadow_comparisons

    now = datetime.now(UTC)
    await store.insert_ledger([replace(FIXTURE[0], at=now - timedelta(hours=1))])
    comparison = {
        "id": "cmp1", "at": now - timedelta(hours=1), "arm": "shadow", "node": "writer",
        "purpose": "writing", "stream": False, "v1_model": "gemini-2.5-pro",
        "v2_model": "claude-sonnet", "v1_latency_ms": 500.0, "v2_latency_ms": 700.0,
        "v1_cost_usd": D("0.001"), "v2_cost_usd": D("0.002"), "v1_output_chars": 100,
        "v2_output_chars": 120, "similarity": 0.8, "v1_ok": True, "v2_ok": True,
    }  # fmt: skip
    async with store.engine.begin() as connection:
        await connection.execute(insert(shadow_comparisons), [comparison])

    report = await read_cost_report(store, load_catalog(CONFIG), days=30, now=now)

    writer = next(n for n in report["nodes"] if n["node"] == "writer")
    assert writer["shadow_comparisons"]["comparisons"] == 1
    assert writer["shadow_comparisons"]["similarity_mean"] == 0.8
