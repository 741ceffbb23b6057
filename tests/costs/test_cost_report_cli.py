"""``llm-gateway cost-report`` on a seeded SQLite record store: table, JSON, HTML, no data and
the flag off."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from tests.costs.test_report_fixture import FIXTURE
from typer.testing import CliRunner

from llm_gateway.cli import app
from llm_gateway.settings import reset_settings_cache
from llm_gateway.storage.migrate import upgrade
from llm_gateway.storage.store import RecordStore


def seeded_url(tmp_path: Path, rows: list) -> str:  # type: ignore[type-arg]
    url = f"sqlite+aiosqlite:///{tmp_path}/ledger.sqlite3"
    upgrade(url)

    async def insert() -> None:
        store = RecordStore.open(url)
        try:
            await store.insert_ledger(rows)
        finally:
            await store.aclose()

    asyncio.run(insert())
    return url


def recent(rows: list) -> list:  # type: ignore[type-arg]
    """The fixture moved so that its newest row is an hour old."""
    shift = datetime.now(UTC) - timedelta(hours=1) - max(r.at for r in rows if r.id != "row0007")
    return [replace(r, at=r.at + shift) for r in rows]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    reset_settings_cache()
    yield {"COLUMNS": "200"}  # type: ignore[misc]
    reset_settings_cache()


def test_table_json_and_html(tmp_path: Path, env: dict[str, str]) -> None:
    env["DATABASE_URL"] = seeded_url(tmp_path, recent(FIXTURE))
    html = tmp_path / "report.html"

    table = CliRunner().invoke(app, ["cost-report", "--days", "30", "--out", str(html)], env=env)
    reset_settings_cache()
    data = CliRunner().invoke(app, ["cost-report", "--json"], env=env)

    assert table.exit_code == 0, table.output
    assert "Cost savings" in table.output and "writer" in table.output
    assert "gemini-2.5-pro" in table.output
    report = json.loads(data.stdout)
    writer = next(n for n in report["nodes"] if n["node"] == "writer")
    assert Decimal(writer["actual_cost_usd"]) == Decimal("0.0309")
    assert report["totals"]["requests"] == 5
    page = html.read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "writer" in page


def test_no_data_and_flag_off(tmp_path: Path, env: dict[str, str]) -> None:
    env["DATABASE_URL"] = seeded_url(tmp_path, [])

    empty = CliRunner().invoke(app, ["cost-report"], env=env)
    reset_settings_cache()  # the settings are read once per process
    off = CliRunner().invoke(
        app, ["cost-report", "--json"], env={**env, "ENABLE_COST_OPTIMIZATION": "false"}
    )

    assert empty.exit_code == 0, empty.output
    assert "no requests in the last 30 days" in empty.output
    assert json.loads(off.stdout)["status"] == "disabled"
