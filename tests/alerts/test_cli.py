"""``llm-gateway alerts [--history]`` reads the incidents from the record store;
``llm-gateway alerts check FILE`` validates (exit 1 naming file, rule and token)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_gateway.alerts.incidents import IncidentStore
from llm_gateway.cli import app
from llm_gateway.settings import reset_settings_cache
from llm_gateway.storage.migrate import upgrade
from llm_gateway.storage.store import RecordStore

RULES = (
    "alerts:\n  - name: high_error_rate\n    condition: error_rate > 5%\n    action: page_oncall\n"
)


def _invoke(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("COLUMNS", "200")
    reset_settings_cache()
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        reset_settings_cache()


def test_check_lists_the_rules_or_every_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "alerts.yaml"
    good.write_text(RULES)
    result = _invoke(monkeypatch, {}, "alerts", "check", str(good))
    assert result.exit_code == 0, result.output
    assert "1 rule(s) valid" in result.output and "high_error_rate" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES.replace("error_rate > 5%", "error_rate > 5 percent"))
    result = _invoke(monkeypatch, {}, "alerts", "check", str(bad), "--json")
    assert result.exit_code == 1
    errors = json.loads(result.stdout)["errors"]
    assert errors == [
        f"{bad}: alerts.high_error_rate.condition: unexpected 'percent' after the threshold '5'"
    ]


def test_alerts_reads_firing_and_history_from_the_record_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3"
    upgrade(url)

    async def seed() -> None:
        store = RecordStore.open(url)
        incidents = IncidentStore(store)
        args = dict(condition="error_rate > 5%", severity="error", value=0.5, summary="s")
        old = await incidents.open(rule="high_error_rate", scope_key="all", **args)  # type: ignore[arg-type]
        assert old is not None and await incidents.resolve(old)
        await incidents.open(rule="high_error_rate", scope_key="all", **args)  # type: ignore[arg-type]
        await store.aclose()

    asyncio.run(seed())
    (tmp_path / "alerts.yaml").write_text(RULES)
    env = {"DATABASE_URL": url, "GATEWAY_ALERTS_FILE": str(tmp_path / "alerts.yaml")}
    result = _invoke(monkeypatch, env, "alerts", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert [r["name"] for r in body["rules"]] == ["high_error_rate"]
    assert len(body["firing"]) == 1 and body["history"] == []
    result = _invoke(monkeypatch, env, "alerts", "--history", "--json")
    assert [i["state"] for i in json.loads(result.stdout)["history"]] == ["firing", "resolved"]
    table = _invoke(monkeypatch, env, "alerts", "--history")
    assert table.exit_code == 0, table.output
    assert "FIRING (1)" in table.output and "History" in table.output
