"""The rollback guard's decision (pure) and its rules file (strict, with key paths)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_gateway.errors import ConfigError
from llm_gateway.rollout import RolloutFlags
from llm_gateway.rollout.evidence import ArmEvidence
from llm_gateway.rollout.guard import decide, next_step
from llm_gateway.rollout.guard_rules import GuardRule, GuardSpec, load_guard

SPEC = GuardSpec(
    min_requests=10,
    cooldown=3600,
    rules=(
        GuardRule(error_rate_above_v1=5),
        GuardRule(p95_latency_above_v1=2.0),
        GuardRule(cost_per_request_above_v1=1.5),
    ),
)
GOOD = ArmEvidence(
    requests=100, errors=1, error_rate=0.01, p95_latency_ms=800, cost_per_request=1e-4
)


def _v2(**values: float) -> dict[str, ArmEvidence]:
    fields = {**GOOD.as_dict(), **values}
    return {"v1": GOOD, "v2": ArmEvidence(**fields)}  # type: ignore[arg-type]


def test_the_steps_follow_the_guides_gradual_rollback() -> None:
    assert [next_step(SPEC.steps, p) for p in (100, 50, 25, 30, 0)] == [50, 25, 0, 25, None]


@pytest.mark.parametrize(
    ("v2", "broken"),
    [
        ({"error_rate": 0.07}, "error_rate_above_v1"),  # 7 % > 1 % + 5 points
        ({"p95_latency_ms": 1700}, "p95_latency_above_v1"),  # > 2 x 800
        ({"cost_per_request": 2e-4}, "cost_per_request_above_v1"),  # > 1.5 x 1e-4
    ],
)
def test_each_rule_steps_down_when_v2_breaks_it(v2: dict[str, float], broken: str) -> None:
    step = decide(SPEC, RolloutFlags(v2_enabled=True, v2_percentage=100), _v2(**v2), None, 0.0)
    assert step is not None and (step.before, step.after) == (100, 50)
    assert [b.rule.metric for b in step.breaches] == [broken]


def test_within_the_thresholds_nothing_happens() -> None:
    flags = RolloutFlags(v2_enabled=True, v2_percentage=100)
    evidence = _v2(error_rate=0.05, p95_latency_ms=1600, cost_per_request=1.5e-4)
    assert decide(SPEC, flags, evidence, None, 0.0) is None


def test_pinned_off_cooldown_and_thin_evidence_hold_the_guard() -> None:
    bad = _v2(error_rate=0.5)
    on = RolloutFlags(v2_enabled=True, v2_percentage=100)
    assert decide(SPEC, on.model_copy(update={"pinned": True}), bad, None, 0.0) is None
    assert decide(SPEC, on.model_copy(update={"v2_enabled": False}), bad, None, 0.0) is None
    assert decide(SPEC, on, bad, {"at": 1000.0}, 1000.0 + 3599) is None
    assert decide(SPEC, on, bad, {"at": 1000.0}, 1000.0 + 3601) is not None
    thin = {"v1": GOOD, "v2": ArmEvidence(requests=9, errors=9, error_rate=1.0)}
    assert decide(SPEC, on, thin, None, 0.0) is None


def test_node_percentages_step_down_with_the_global_one() -> None:
    flags = RolloutFlags(v2_enabled=True, v2_percentage=25, node_percentages={"writer": 100})
    step = decide(SPEC, flags, _v2(error_rate=0.5), None, 0.0)
    assert step is not None and step.after == 50 and step.node_percentages == {"writer": 50}


def test_rules_file_errors_name_the_file_and_key_path(tmp_path: Path) -> None:
    path = tmp_path / "rollout.yaml"
    path.write_text(
        "guard:\n  window: 10m\n  steps: [100, 60, 70, 0]\n  actions: [telegram]\n"
        "  rules:\n    - error_rate_above_v1: 2\n      typo: 1\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_guard(path)
    text = "\n".join(str(issue) for issue in caught.value.issues)
    assert f"{path}: guard.steps: steps go down" in text
    assert f"{path}: guard.actions: unknown action 'telegram'" in text
    assert f"{path}: guard.rules[0].typo: unknown field 'typo'" in text


def test_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "rollout.yaml"
    path.write_text(
        "guard:\n  window: 5m\n  cooldown: 1h\n  rules:\n    - p95_latency_above_v1: 1.5\n"
    )
    guard = load_guard(path)
    assert guard.enabled and guard.spec is not None
    assert (guard.spec.window, guard.spec.cooldown, guard.spec.steps) == (
        300,
        3600,
        (100, 50, 25, 0),
    )
    assert guard.rules_view()[0]["description"] == "v2 p95 latency > 1.5 x v1 p95 latency"


def test_the_shipped_guide_guard_file_loads() -> None:
    from llm_gateway.bench.features import GUIDE_GUARD, PRESETS

    config = load_guard(Path(GUIDE_GUARD))
    assert config.spec is not None and len(config.spec.rules) == 3
    assert PRESETS["all"]["GATEWAY_ROLLOUT_FILE"] == GUIDE_GUARD
