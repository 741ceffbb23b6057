"""``budgets.yaml`` is parsed with the other config files: strictly, every problem naming the
file and the key path; a reload with a bad file keeps the last good budgets."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from llm_gateway.config.loader import validate_config_dir
from llm_gateway.model_policy import ModelPolicyRegistry

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"


def _config(tmp_path: Path, budgets: str | None) -> Path:
    directory = tmp_path / "config"
    shutil.copytree(REPO_CONFIG, directory, ignore=shutil.ignore_patterns("scenarios"))
    if budgets is not None:
        (directory / "budgets.yaml").write_text(budgets)
    return directory


def test_no_file_is_no_budget(tmp_path: Path) -> None:
    registry = ModelPolicyRegistry(_config(tmp_path, None))
    assert not registry.catalog.budgets


def test_caps_are_exact_decimals_by_scope(tmp_path: Path) -> None:
    text = (
        "default_output_tokens: 1000\nwarn_at: [0.9, 0.5]\n"
        'gateway: {day: "50.10", month: 1000}\n'
        "nodes:\n  writer: {hour: 1.1, output_cap: 300}\n"
        "keys:\n  alice: {day: '2'}\nmodels:\n  gpt-4o-mini: {month: '0.5', warn_at: [1]}\n"
    )
    budgets = ModelPolicyRegistry(_config(tmp_path, text)).catalog.budgets
    assert budgets.default_output_tokens == 1000 and budgets.warn_at == (0.5, 0.9)
    scopes = budgets.scopes
    assert set(scopes) == {"gateway", "node:writer", "key:alice", "model:gpt-4o-mini"}
    assert scopes["gateway"].day == Decimal("50.10") and scopes["gateway"].month == 1000
    assert scopes["node:writer"].hour == Decimal("1.1") and scopes["node:writer"].output_cap == 300
    assert scopes["model:gpt-4o-mini"].warn_at == (1.0,)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('gateway: {day: "-1"}\n', "budgets.yaml: gateway.day"),
        ('gateway: {week: "1"}\n', "budgets.yaml: gateway.week: unknown field"),
        ('nodes:\n  writer: {day: "ten"}\n', "budgets.yaml: nodes.writer.day"),
        ("nodes:\n  nowhere: {day: 1}\n", "budgets.yaml: nodes.nowhere: unknown node"),
        ("models:\n  gpt-9: {day: 1}\n", "budgets.yaml: models.gpt-9: unknown model"),
        ('keys:\n  "bad key!": {day: 1}\n', "budgets.yaml: keys.bad key!"),
        ("warn_at: [1.5]\n", "budgets.yaml: warn_at"),
        ("budget: {}\n", "budgets.yaml: budget: unknown field"),
        ("gateway: [1]\n", "budgets.yaml: gateway"),
    ],
)
def test_a_bad_value_names_the_file_and_the_key_path(tmp_path: Path, text: str, where: str) -> None:
    issues = [str(issue) for issue in validate_config_dir(_config(tmp_path, text))]
    assert any(issue.startswith(where) for issue in issues), issues


def test_a_reload_with_a_bad_file_keeps_the_last_good_budgets(tmp_path: Path) -> None:
    directory = _config(tmp_path, 'gateway: {day: "5"}\n')
    registry = ModelPolicyRegistry(directory)
    seen = []
    registry.subscribe(lambda catalog: seen.append(catalog.budgets))
    (directory / "budgets.yaml").write_text('gateway: {day: "7"}\n')
    assert registry.reload() == []
    assert registry.catalog.budgets.scopes["gateway"].day == 7 and len(seen) == 1
    (directory / "budgets.yaml").write_text('gateway: {day: "oops"}\n')
    issues = registry.reload()
    assert issues and str(issues[0]).startswith("budgets.yaml: gateway.day")
    assert registry.catalog.budgets.scopes["gateway"].day == 7 and len(seen) == 1


def test_the_fail_mode_is_closed_by_default_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from llm_gateway.errors import ConfigError
    from llm_gateway.settings import load_settings

    monkeypatch.delenv("GATEWAY_BUDGET_FAIL_MODE", raising=False)
    assert load_settings(_env_file=None).GATEWAY_BUDGET_FAIL_MODE == "closed"
    monkeypatch.setenv("GATEWAY_BUDGET_FAIL_MODE", "local")
    assert load_settings(_env_file=None).GATEWAY_BUDGET_FAIL_MODE == "local"
    monkeypatch.setenv("GATEWAY_BUDGET_FAIL_MODE", "open")
    with pytest.raises(ConfigError) as refused:
        load_settings(_env_file=None)
    assert "GATEWAY_BUDGET_FAIL_MODE" in str(refused.value)
