"""The record-store commands, on SQLite and PostgreSQL: ``db upgrade|current|history|downgrade``,
``ledger export`` (every row of the window exactly once, costs exact), ``traces`` and
``metrics`` — read from a store seeded through ``RecordStore``, as another process would."""

from __future__ import annotations

import asyncio
import csv
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_gateway.cli import app
from llm_gateway.settings import reset_settings_cache
from llm_gateway.storage.migrate import current_revision, head_revision
from llm_gateway.storage.records import LedgerRow, TraceRecord
from llm_gateway.storage.store import RecordStore

START = datetime(2026, 11, 1, tzinfo=UTC)
NODES = ("writer", "evaluator", "formatter")
MODELS = ("claude-sonnet", "gpt-4o-mini", "gemini-2.5-pro")


def invoke(monkeypatch: pytest.MonkeyPatch, url: str, *args: str):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")
    reset_settings_cache()
    return CliRunner().invoke(app, list(args))


def ledger_rows(count: int) -> list[LedgerRow]:
    """``count`` rows a minute apart from START; costs of up to 18 decimals, some zero."""
    rows = []
    for n in range(count):
        rows.append(
            LedgerRow(
                id=f"req{n:029d}",
                at=START + timedelta(minutes=n),
                trace_id=f"trace-{n // 3}",
                node=NODES[n % 3],
                status="ok" if n % 7 else "error",
                error_type=None if n % 7 else "upstream_error",
                cost_usd=Decimal(f"0.{(n * 982_451_653 * 7919) % 10**15:018d}")
                if n % 11
                else Decimal(0),
                cost_source="provider" if n % 2 else "policy",
                latency_ms=100.0 + n % 900,
                model=MODELS[n % 3],
                provider="openrouter",
                attempts=1 + n % 2,
                fallback_used=n % 4 == 0,
                input_tokens=20 + n % 50,
                output_tokens=100 + n % 300,
                capabilities="reasoning,streaming",
            )
        )
    return rows


async def seed(url: str, rows: list[LedgerRow], traces: list[TraceRecord] = ()) -> None:  # type: ignore[assignment]
    store = RecordStore.open(url)
    try:
        assert await store.insert_ledger(rows) == len(rows)
        await store.insert_traces(list(traces))
    finally:
        await store.aclose()


def upgraded(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    result = invoke(monkeypatch, url, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert current_revision(url) == head_revision()


def test_db_commands_upgrade_report_and_downgrade(
    monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    head = head_revision()
    before = invoke(monkeypatch, db_url, "db", "current")
    assert before.exit_code == 0, before.output
    assert "revision: none (empty)" in before.stdout
    assert "run `llm-gateway db upgrade`" in before.stdout

    up = invoke(monkeypatch, db_url, "db", "upgrade")
    assert up.exit_code == 0, up.output
    assert f"schema: none (empty) → {head} (head)" in up.stdout
    assert current_revision(db_url) == head
    again = invoke(monkeypatch, db_url, "db", "upgrade")
    assert f"schema: {head} (head), nothing to do" in again.stdout

    now = invoke(monkeypatch, db_url, "db", "current")
    assert f"revision: {head} (head)" in now.stdout
    assert "db upgrade" not in now.stdout
    history = invoke(monkeypatch, db_url, "db", "history")
    assert history.exit_code == 0, history.output
    assert "head, current" in history.stdout

    down = invoke(monkeypatch, db_url, "db", "downgrade", "base")
    assert down.exit_code == 0, down.output
    assert current_revision(db_url) is None


def test_db_errors_are_one_line_without_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    # A port nothing listens on (the shared server is on 5432).
    url = "postgresql+asyncpg://gateway:s3cret-pw@127.0.0.1:1/records"
    for args in (("db", "upgrade"), ("db", "current"), ("metrics",)):
        result = invoke(monkeypatch, url, *args)
        assert result.exit_code == 1
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: ")
        assert "gateway:***@127.0.0.1:1/records" in lines[0]
        assert "s3cret-pw" not in result.stderr
    bad = invoke(
        monkeypatch, "sqlite+aiosqlite:///unused.sqlite3", "db", "upgrade", "--revision", "zz"
    )
    assert bad.exit_code == 1
    assert "zz" in bad.stderr and "Traceback" not in bad.output


def test_reading_an_unmigrated_store_names_the_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/never.sqlite3"
    reads = (
        ("traces",),
        ("metrics",),
        ("ledger", "export", "--from", "2026-11-01"),
        ("cost-report",),
    )
    for args in reads:
        result = invoke(monkeypatch, url, *args)
        assert result.exit_code == 1, result.output
        assert "run `llm-gateway db upgrade`" in result.stderr
        # a file that is not there: nothing was recorded there, rather than a schema to fix
        assert f"{tmp_path}/never.sqlite3 does not exist" in result.stderr
        assert "set DATABASE_URL to the served gateway's" in result.stderr
    assert not (tmp_path / "never.sqlite3").exists()  # reading never creates the file


def test_ledger_export_csv_has_every_row_of_the_window_once_with_exact_costs(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    upgraded(monkeypatch, db_url)
    rows = ledger_rows(2_345)
    asyncio.run(seed(db_url, rows))
    # [START + 100 min, START + 2,100 min): rows 100 … 2,099, read 250 a page.
    start, end = START + timedelta(minutes=100), START + timedelta(minutes=2_100)
    expected = rows[100:2_100]
    out = tmp_path / "ledger.csv"
    result = invoke(
        monkeypatch,
        db_url,
        "ledger",
        "export",
        "--from",
        start.isoformat(),
        "--to",
        end.isoformat(),
        "--format",
        "csv",
        "--output",
        str(out),
        "--page-size",
        "250",
    )
    assert result.exit_code == 0, result.output
    with out.open(newline="") as exported:
        parsed = list(csv.DictReader(exported))
    assert len(parsed) == 2_000
    assert [r["id"] for r in parsed] == [r.id for r in expected]
    total = sum((Decimal(r["cost_usd"]) for r in parsed), Decimal(0))
    assert total == sum((r.cost_usd for r in expected), Decimal(0))
    assert all(Decimal(p["cost_usd"]) == r.cost_usd for p, r in zip(parsed, expected, strict=True))
    assert parsed[0]["fallback_used"] == "true" and parsed[1]["fallback_used"] == "false"
    assert datetime.fromisoformat(parsed[0]["at"]) == expected[0].at
    assert "exported 2,000 ledger row(s)" in result.stderr
    assert f"total cost ${format(total, 'f')}" in result.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_ledger_export_jsonl_to_stdout_filters_by_node_and_model(
    monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    upgraded(monkeypatch, db_url)
    rows = ledger_rows(600)
    asyncio.run(seed(db_url, rows))
    result = invoke(
        monkeypatch,
        db_url,
        "ledger",
        "export",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-02T00:00:00Z",
        "--node",
        "evaluator",
        "--model",
        "gpt-4o-mini",
        "--format",
        "jsonl",
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    expected = [r for r in rows if r.node == "evaluator" and r.model == "gpt-4o-mini"]
    assert len(expected) == 200
    assert [line["id"] for line in lines] == [r.id for r in expected]
    assert all(isinstance(line["cost_usd"], str) for line in lines)
    assert sum(Decimal(line["cost_usd"]) for line in lines) == sum(r.cost_usd for r in expected)


def test_ledger_export_refuses_a_bad_window(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    upgraded(monkeypatch, db_url)
    for args in (("--from", "last week"), ("--from", "2026-11-02", "--to", "2026-11-01")):
        result = invoke(monkeypatch, db_url, "ledger", "export", *args)
        assert result.exit_code == 1
        assert len(result.stderr.strip().splitlines()) == 1


def _trace(n: int, at: datetime, *, ok: bool = True, trace_id: str | None = None) -> TraceRecord:
    request_id = f"r{n:031d}"
    tid = trace_id or f"trace-{n}"
    body = {
        "trace_id": tid,
        "request_id": request_id,
        "ok": ok,
        "status": "ok" if ok else "error",
        "node_name": NODES[n % 3],
        "strategy": "balanced",
        "model": MODELS[n % 3],
        "provider": "openrouter",
        "attempts": [
            {"model": MODELS[n % 3], "provider": "openrouter", "duration_ms": 12.5, "ok": ok}
        ],
        "duration_ms": 12.5 + n,
        "cost": {"total": f"0.0000{n}1"},
        "error": None if ok else {"type": "upstream_error", "message": "boom-from-upstream"},
        "timestamp": at.timestamp(),
    }
    return TraceRecord(
        request_id=request_id,
        trace_id=tid,
        at=at,
        node=NODES[n % 3],
        model=MODELS[n % 3],
        ok=ok,
        status=body["status"],  # type: ignore[arg-type]
        duration_ms=12.5 + n,
        body=body,
    )


def test_traces_and_metrics_read_the_store(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    upgraded(monkeypatch, db_url)
    now = datetime.now(UTC)
    recent = [
        LedgerRow(
            id=f"live{n:028d}",
            at=now - timedelta(minutes=n),
            trace_id=f"trace-{n}",
            node=NODES[n % 3],
            status="ok" if n % 4 else "error",
            cost_usd=Decimal("0.000001000000000001"),
            cost_source="provider",
            latency_ms=100.0 * (n + 1),
            model=MODELS[n % 3],
        )
        for n in range(12)
    ]
    old = [_trace(90, now - timedelta(hours=5))]
    traces = [_trace(n, now - timedelta(minutes=n), ok=n != 2) for n in range(6)]
    traces += [_trace(7, now, trace_id="trace-1")]  # a second request carrying trace-1
    asyncio.run(seed(db_url, recent, traces + old))

    listed = invoke(monkeypatch, db_url, "traces", "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["count"] == 7  # the 5-hour-old one is outside the hour
    table = invoke(monkeypatch, db_url, "traces", "--errors")
    assert "trace-2" in table.stdout and "trace-3" not in table.stdout
    by_node = invoke(monkeypatch, db_url, "traces", "--node", "evaluator", "--json")
    assert {t["node_name"] for t in json.loads(by_node.stdout)["traces"]} == {"evaluator"}
    wide = invoke(monkeypatch, db_url, "traces", "--hours", "6", "--limit", "3", "--json")
    assert json.loads(wide.stdout)["count"] == 3

    one = invoke(monkeypatch, db_url, "traces", "--trace-id", "trace-1")
    assert one.exit_code == 0, one.output
    assert "2 requests carried this trace id" in one.stdout
    failed = invoke(monkeypatch, db_url, "traces", "--trace-id", "trace-2")
    assert "upstream_error: boom-from-upstream" in failed.stdout
    missing = invoke(monkeypatch, db_url, "traces", "--trace-id", "no-such-trace")
    assert missing.exit_code == 1 and "no-such-trace" in missing.stderr

    figures = invoke(monkeypatch, db_url, "metrics", "--json")
    assert figures.exit_code == 0, figures.output
    found = json.loads(figures.stdout)
    assert found["request_count"] == 12
    assert found["error_count"] == 3
    assert Decimal(found["total_cost_usd"]) == Decimal("0.000012000000000012")
    text = invoke(monkeypatch, db_url, "metrics", "--model", "gpt-4o-mini").stdout
    assert "requests" in text and "gpt-4o-mini" in text and "claude-sonnet" not in text
    narrow = json.loads(invoke(monkeypatch, db_url, "metrics", "--hours", "0.05", "--json").stdout)
    assert narrow["request_count"] == 3  # 0, 1 and 2 minutes old


def test_ledger_export_to_an_unwritable_place_is_one_line(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path
) -> None:
    upgraded(monkeypatch, sqlite_url)
    asyncio.run(seed(sqlite_url, ledger_rows(10)))
    target = tmp_path / "no-such-folder" / "ledger.csv"
    result = invoke(
        monkeypatch, sqlite_url, "ledger", "export", "--from", "2026-11-01", "-o", str(target)
    )
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: cannot write {target}: No such file or directory"
    ]
