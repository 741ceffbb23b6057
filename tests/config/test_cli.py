"""``llm-gateway validate`` and ``llm-gateway models``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.config.configdir import baseline, write
from typer.testing import CliRunner

from llm_gateway.cli import app

SHIPPED = Path(__file__).resolve().parents[2] / "config"
runner = CliRunner()


def test_validate_shipped_config_exits_0_with_a_summary_table() -> None:
    result = runner.invoke(app, ["validate", "--config-dir", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert "Configuration valid" in result.stdout
    for node in ("writer", "evaluator", "search_perplexity", "citation_master"):
        assert node in result.stdout
    assert "15 models" in result.stdout


def test_validate_json_summary() -> None:
    result = runner.invoke(app, ["validate", "--config-dir", str(SHIPPED), "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["valid"] is True and data["errors"] == []
    nodes = {n["node"]: n for n in data["nodes"]}
    assert nodes["formatter"]["strategy"] == "cost_optimized"
    assert nodes["evaluator"]["required_capabilities"] == ["reasoning"]


def test_validate_prints_every_error_as_file_path_message_and_exits_1(tmp_path: Path) -> None:
    policies, nodes = baseline()
    policies["policies"]["beta"]["fallback_models"] = ["alpha", "gpt-5"]
    policies["policies"]["alpha"]["cost_tier"] = "CHEAP"
    nodes["nodes"]["writer"]["bogus"] = 1
    result = runner.invoke(app, ["validate", "--config-dir", str(write(tmp_path, policies, nodes))])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "model_policies.yaml: policies.alpha.cost_tier: unknown value 'CHEAP'; expected "
        "'LOW', 'MEDIUM', 'HIGH' or 'PREMIUM'",
        "node_requirements.yaml: nodes.writer.bogus: unknown field 'bogus'",
        "model_policies.yaml: policies.beta.fallback_models[1]: unknown model 'gpt-5'",
    ]
    assert "3 configuration error(s)" in result.stderr


def test_validate_json_errors(tmp_path: Path) -> None:
    policies, nodes = baseline()
    policies["policies"]["beta"]["fallback_models"] = ["gpt-5"]
    directory = write(tmp_path, policies, nodes)
    result = runner.invoke(app, ["validate", "--config-dir", str(directory), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "valid": False,
        "errors": [
            {
                "file": "model_policies.yaml",
                "path": "policies.beta.fallback_models[0]",
                "message": "unknown model 'gpt-5'",
                "text": "model_policies.yaml: policies.beta.fallback_models[0]: "
                "unknown model 'gpt-5'",
            }
        ],
    }


def test_validate_uses_the_configured_directory(tmp_path: Path, monkeypatch: object) -> None:
    result = runner.invoke(
        app, ["validate", "--json"], env={"GATEWAY_CONFIG_DIR": str(write(tmp_path))}
    )
    from llm_gateway.settings import reset_settings_cache

    reset_settings_cache()
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["config_dir"] == str(tmp_path)


def test_models_table_and_json() -> None:
    table = runner.invoke(app, ["models", "--config-dir", str(SHIPPED)], env={"COLUMNS": "200"})
    assert table.exit_code == 0
    assert "gemini-2.5-flash" in table.stdout and "perplexity/sonar" in table.stdout
    data = json.loads(runner.invoke(app, ["models", "--config-dir", str(SHIPPED), "--json"]).stdout)
    by_id = {m["logical_id"]: m for m in data}
    assert by_id["claude-sonnet"]["input_cost_per_1k"] == "0.003"
    assert by_id["gemini-2.5-pro"]["fallback_models"] == ["claude-sonnet", "gpt-4o"]
    search = runner.invoke(
        app, ["models", "-c", "web_search", "--json", "--config-dir", str(SHIPPED)]
    )
    assert {m["logical_id"] for m in json.loads(search.stdout)} == {
        "perplexity-sonar",
        "perplexity-sonar-pro",
        "gpt-4o-search",
    }


def test_models_unknown_capability_exits_1() -> None:
    result = runner.invoke(app, ["models", "-c", "telepathy", "--config-dir", str(SHIPPED)])
    assert result.exit_code == 1
    assert "telepathy" in result.stderr
