"""Helpers for served budget tests: a config directory with a ``budgets.yaml``, settings for a
gateway in front of the simulator, ledger reads and bounded waits."""

from __future__ import annotations

import shutil
import sqlite3
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from tests.http.conftest import AUTH, make_settings

from llm_gateway.settings import Settings

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"
MESSAGES = [{"role": "user", "content": "hello"}]
# Answers longer than any max_tokens the tests send: every answer is cut at max_tokens, so what
# it costs is close to its reservation.
LONG_ANSWERS = {"zero_latency": True, "answer": {"min_words": 400, "max_words": 400}}


def config_with_budgets(directory: Path, budgets_yaml: str) -> Path:
    shutil.copytree(REPO_CONFIG, directory, ignore=shutil.ignore_patterns("scenarios"))
    (directory / "budgets.yaml").write_text(budgets_yaml)
    return directory


def budget_settings(home: Path, config_dir: Path, upstream: str, **extra: Any) -> Settings:
    home.mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = {
        "GATEWAY_SIMULATE": False,
        "OPENROUTER_API_KEY": "sk-or-budget-test-0000",
        "OPENROUTER_BASE_URL": upstream,
        "GATEWAY_CONFIG_DIR": config_dir,
        "DATABASE_URL": f"sqlite+aiosqlite:///{home}/records.sqlite3",
        "GATEWAY_LEDGER_SPOOL_DIR": home / "spool",
        "GATEWAY_MAX_RETRIES": 0,
        "GATEWAY_HEARTBEAT_S": 0.2,
        "GATEWAY_BUDGET_SYNC_MS": 50,
    }
    values.update(extra)
    return make_settings(home, **values)


def ask(url: str, model: str = "gpt-4o-mini", **body: Any) -> httpx.Response:
    payload = {"model": model, "messages": MESSAGES, "max_tokens": 50, **body}
    return httpx.post(f"{url}/v1/chat/completions", json=payload, timeout=30)


def budgets(url: str) -> dict[str, Any]:
    answer = httpx.get(f"{url}/api/admin/gateway/budgets", headers=AUTH, timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def budget_row(listing: dict[str, Any], scope: str, period: str) -> dict[str, Any]:
    return next(b for b in listing["budgets"] if b["scope"] == scope and b["period"] == period)


def sqlite_ledger(path: Path) -> list[dict[str, Any]]:
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in connection.execute("select * from ledger order by at")]
    finally:
        connection.close()


def ledger_total(rows: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(str(r["cost_usd"])) for r in rows), Decimal(0))


def wait_for(check: Any, seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
