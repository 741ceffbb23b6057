"""``llm-gateway select``: the choice, the chain, the reasons and the rejected models."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from llm_gateway.cli import app

SHIPPED = Path(__file__).resolve().parents[2] / "config"
runner = CliRunner()


def _select(*args: str) -> tuple[int, str]:
    result = runner.invoke(
        app, ["select", "--config-dir", str(SHIPPED), *args], env={"COLUMNS": "160"}
    )
    return result.exit_code, result.stdout


def test_select_table_output() -> None:
    code, out = _select(
        "--node", "writer", "--capability", "streaming", "--strategy", "cost_optimized"
    )
    assert code == 0
    assert "strategy cost_optimized" in out
    assert "Order of attempts" in out and "Reasons" in out and "Rejected models" in out
    assert "claude-opus" in out and "cost tier PREMIUM above max HIGH" in out


def test_select_json_matches_the_selector() -> None:
    code, out = _select("-n", "evaluator", "--strategy", "quality_optimized", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["selected_model"] == "claude-opus"  # the highest-quality reasoning model
    assert data["strategy"] == "quality_optimized"
    assert data["requirements"]["reasoning_required"] is True
    assert data["fallback_chain"] and data["selected_model"] not in data["fallback_chain"]
    assert data["rejected"]["gpt-4o-mini"] == ["reasoning required (reasoning_required: true)"]


def test_select_with_estimated_tokens_and_requested_model() -> None:
    code, out = _select("-n", "writer", "--input-tokens", "150000", "--json")
    assert code == 0
    assert "gemini-2.5-pro" in json.loads(out)["rejected"]  # 32k window
    code, out = _select("-n", "writer", "--model", "gpt-4o", "--json")
    assert (code, json.loads(out)["source"]) == (0, "requested")


def test_select_nothing_eligible_exits_1_listing_every_model() -> None:
    code, out = _select("-n", "evaluator", "--max-cost-tier", "LOW")
    assert code == 1
    assert "no model satisfies node 'evaluator'" in out
    assert "claude-sonnet" in out and "cost tier HIGH above max LOW" in out
    code, out = _select("-n", "evaluator", "--max-cost-tier", "LOW", "--json")
    error = json.loads(out)["error"]
    assert code == 1 and error["code"] == "no_eligible_model"
    assert error["rejected"]["claude-sonnet"] == ["cost tier HIGH above max LOW"]


def test_select_invalid_input_exits_1() -> None:
    code, out = _select("-n", "writer", "-c", "telepathy", "--json")
    assert code == 1
    assert json.loads(out)["error"]["code"] == "unknown_capability"
    code, out = _select("-n", "writer", "--model", "gpt-5")
    assert code == 1 and "unknown model 'gpt-5'" in out


def test_the_first_reason_says_what_the_strategy_ranked_by() -> None:
    """cost_optimized ranks by cost before score, quality_optimized by quality x reliability:
    the reason names that, not a "best score" another model may beat."""
    for node, strategy, wording, key in (
        ("formatter", "cost_optimized", "cheapest of", "expected_cost_usd"),
        ("evaluator", "quality_optimized", "highest quality x reliability of", None),
        ("writer", "balanced", "best balanced score", "total"),
    ):
        code, out = _select("-n", node, "--strategy", strategy, "--json")
        assert code == 0
        data = json.loads(out)
        chosen = data["selected_model"]
        assert data["reasons"][0].startswith(f"{chosen}: {wording}"), data["reasons"][0]
        scores = data["scores"]
        if key == "expected_cost_usd":
            assert float(scores[chosen][key]) == min(float(s[key]) for s in scores.values())
        elif key == "total":
            assert scores[chosen][key] == max(s[key] for s in scores.values())
        else:
            quality = {m: s["quality"] * s["reliability"] for m, s in scores.items()}
            assert quality[chosen] == max(quality.values())
