"""Fire, repeat and resolve decided purely: ``for``, ``repeat_after``, ``min_requests``, and an
auto-disabled model's incident lasting until the model is enabled again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from llm_gateway.alerts.evaluation import Verdict, decide
from llm_gateway.alerts.incidents import Incident
from llm_gateway.alerts.measures import Measurement
from llm_gateway.alerts.rules import AlertRule, load_rules

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _rule(tmp_path: Path, extra: str, condition: str = "error_rate > 5%") -> AlertRule:
    path = tmp_path / "alerts.yaml"
    path.write_text(f"alerts:\n  - name: r\n    condition: {condition}\n{extra}")
    return load_rules(path).rules[0]


def _incident(scope: str = "all", at: datetime = T0, detail: dict | None = None) -> Incident:  # type: ignore[type-arg]
    return Incident("i1", "r", scope, "c", "error", 1.0, "s", at, at, 1, None, detail)


def test_it_fires_only_after_holding_for_the_configured_time(tmp_path: Path) -> None:
    rule = _rule(tmp_path, "    action: webhook\n    for: 60s\n    min_requests: 10\n")
    pending: dict[str, float] = {}
    bad = {"all": Measurement(0.5, 20)}
    assert decide(rule, bad, {}, pending, T0)[0] == []
    assert decide(rule, bad, {}, pending, T0 + timedelta(seconds=59))[0] == []
    (fire,), _ = decide(rule, bad, {}, pending, T0 + timedelta(seconds=60))
    assert fire.verdict is Verdict.FIRE and fire.scope == "all"
    # too few requests: no verdict, the pending period is kept
    few = {"all": Measurement(1.0, 3)}
    assert decide(rule, few, {}, pending, T0 + timedelta(seconds=61))[0] == []
    # back to normal: the pending period starts over
    assert decide(rule, {"all": Measurement(0.0, 20)}, {}, pending, T0)[0] == []
    assert pending == {}


def test_repeat_after_and_resolve(tmp_path: Path) -> None:
    rule = _rule(tmp_path, "    action: webhook\n    repeat_after: 10m\n")
    open_ = {"all": _incident()}
    bad = {"all": Measurement(0.5, 20)}
    assert decide(rule, bad, open_, {}, T0 + timedelta(minutes=9))[0] == []
    (repeat,), _ = decide(rule, bad, open_, {}, T0 + timedelta(minutes=10))
    assert repeat.verdict is Verdict.REPEAT
    (resolve,), _ = decide(rule, {"all": Measurement(0.01, 20)}, open_, {}, T0)
    assert resolve.verdict is Verdict.RESOLVE
    (quiet,), _ = decide(rule, {}, open_, {}, T0)  # no traffic left in the window
    assert quiet.verdict is Verdict.RESOLVE


def test_an_auto_disabled_model_stays_firing_until_enabled(tmp_path: Path) -> None:
    rule = _rule(tmp_path, "    action: auto_disable_model\n", "model_consecutive_failures > 5")
    incident = _incident("m", detail={"disabled_model": "m"})
    calm = {"m": Measurement(0.0, 1)}
    assert decide(rule, calm, {"m": incident}, {}, T0, disabled_models={"m"})[0] == []
    (resolve,), _ = decide(rule, calm, {"m": incident}, {}, T0, disabled_models=set())
    assert resolve.verdict is Verdict.RESOLVE and resolve.reason == "model enabled again"
