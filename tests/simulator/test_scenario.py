"""Scenario files: strict parsing with key paths, layered per-model resolution, sources."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from llm_gateway.errors import ConfigError
from llm_gateway.simulator.scenario import (
    ModelSpec,
    Scenario,
    load_scenario,
    parse_scenario_text,
)

SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "config" / "scenarios"


def test_unknown_keys_and_bad_values_are_reported_with_their_path() -> None:
    text = """
models:
  openai/gpt-4o:
    ttft_s: -1
    faults:
      - kind: error
      - kind: explode
  "*":
    colour: blue
"""
    with pytest.raises(ConfigError) as caught:
        parse_scenario_text(text, origin="bad.yaml")
    issues = [str(issue) for issue in caught.value.issues]
    assert any("models.openai/gpt-4o.ttft_s" in issue for issue in issues)
    assert any("faults[0]" in issue and "needs 'status'" in issue for issue in issues)
    assert any("faults[1].kind" in issue for issue in issues)
    assert any("models.*.colour" in issue for issue in issues)
    assert all(issue.startswith("bad.yaml") for issue in issues)


def test_model_settings_resolve_entry_then_policy_then_star_then_builtin() -> None:
    scenario = Scenario.model_validate(
        {
            "models": {
                "*": {"ttft_s": 0.5, "tokens_per_s": 10, "context_length": 1000},
                "a/model": {"ttft_s": 0.1, "faults": []},
            }
        }
    )
    policy = ModelSpec(context_length=2000, input_cost_per_1k=Decimal("0.003"), ttft_s=0.2)
    profile = scenario.profile("a/model", policy)
    assert profile.ttft_s == 0.1  # own entry
    assert profile.context_length == 2000 and profile.input_cost_per_1k == Decimal("0.003")
    assert profile.tokens_per_s == 10  # "*"
    assert profile.output_cost_per_1k == Decimal("0.0015")  # built-in
    assert profile.cached_input_cost_per_1k == Decimal("0.003")  # defaults to the input price
    assert profile.provider_name == "A"
    assert scenario.profile("openai/gpt-4o").provider_name == "OpenAI"


def test_own_empty_fault_list_exempts_a_model_from_star_faults() -> None:
    scenario = Scenario.model_validate(
        {
            "models": {
                "*": {"faults": [{"kind": "error", "status": 500}]},
                "calm/model": {"faults": []},
            }
        }
    )
    assert len(scenario.profile("any/model").faults) == 1
    assert scenario.profile("calm/model").faults == ()


def test_zero_latency_overrides_every_model() -> None:
    scenario = Scenario.for_tests(models={"slow/model": {"ttft_s": 3, "tokens_per_s": 1}})
    profile = scenario.profile("slow/model")
    assert profile.ttft_s == 0 and profile.tokens_per_s == 0


def test_sources_yaml_json_path_mapping(tmp_path: Path) -> None:
    assert load_scenario(None) == Scenario()
    assert load_scenario("seed: 3\n").seed == 3
    assert load_scenario('{"seed": 4}').seed == 4
    assert load_scenario({"seed": 5}).seed == 5
    file = tmp_path / "s.yaml"
    file.write_text("seed: 6\n")
    assert load_scenario(file).seed == 6
    assert load_scenario(str(file)).seed == 6
    with pytest.raises(ConfigError):
        load_scenario(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError):
        load_scenario("- a list\n")


@pytest.mark.parametrize("path", sorted(SCENARIOS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_example_scenarios_are_valid(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.declared_models()
