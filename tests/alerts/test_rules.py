"""alerts.yaml parsing: the guide's file as written, every condition and unit, and strict
errors naming the file, the rule and the token."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_gateway.alerts.conditions import ConditionError, Metric, parse_condition, parse_duration
from llm_gateway.alerts.rules import load_rules
from llm_gateway.bench.features import GUIDE_ALERTS
from llm_gateway.errors import ConfigError

GUIDE = """\
# alerts.yaml
alerts:
  - name: high_error_rate
    condition: error_rate > 5%
    action: page_oncall
    
  - name: high_latency
    condition: avg_latency > 10s
    action: slack_alert
    
  - name: cost_spike
    condition: hourly_cost > $50
    action: email_admin
    
  - name: model_failures
    condition: model_consecutive_failures > 5
    action: auto_disable_model
"""  # noqa: W293 (the guide's blank lines carry its indentation: kept as written)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text(text)
    return path


def test_the_shipped_file_is_the_guides() -> None:
    shipped = load_rules(Path(GUIDE_ALERTS))
    assert [(r.name, r.condition.text, r.actions) for r in shipped.rules] == [
        ("high_error_rate", "error_rate > 5%", ("page_oncall",)),
        ("high_latency", "avg_latency > 10s", ("slack_alert",)),
        ("cost_spike", "hourly_cost > $50", ("email_admin",)),
        ("model_failures", "model_consecutive_failures > 5", ("auto_disable_model",)),
    ]


def test_the_guides_file_loads_as_written(tmp_path: Path) -> None:
    rules = load_rules(_write(tmp_path, GUIDE))
    by_name = {rule.name: rule for rule in rules.rules}
    assert list(by_name) == ["high_error_rate", "high_latency", "cost_spike", "model_failures"]
    assert by_name["high_error_rate"].condition.threshold == pytest.approx(0.05)
    assert by_name["high_latency"].condition.threshold == 10_000.0  # ms
    assert by_name["cost_spike"].condition.threshold == 50.0
    assert by_name["model_failures"].scope == "model"
    assert by_name["model_failures"].actions == ("auto_disable_model",)
    assert by_name["high_error_rate"].scope == "global"


@pytest.mark.parametrize(
    ("text", "metric", "threshold"),
    [
        ("error_rate > 5%", Metric.ERROR_RATE, 0.05),
        ("error_rate >= 0.2", Metric.ERROR_RATE, 0.2),
        ("avg_latency > 10s", Metric.AVG_LATENCY, 10_000.0),
        ("p95_latency > 2500ms", Metric.P95_LATENCY, 2500.0),
        ("p95_latency > 1m", Metric.P95_LATENCY, 60_000.0),
        ("hourly_cost > $50", Metric.HOURLY_COST, 50.0),
        ("hourly_cost > 0.5", Metric.HOURLY_COST, 0.5),
        ("model_consecutive_failures > 5", Metric.MODEL_CONSECUTIVE_FAILURES, 5.0),
        ("budget_used > 80%", Metric.BUDGET_USED, 0.8),
        ("budget_used<=80%", Metric.BUDGET_USED, 0.8),
    ],
)
def test_every_condition_reads(text: str, metric: Metric, threshold: float) -> None:
    condition = parse_condition(text)
    assert condition.metric is metric
    assert condition.threshold == pytest.approx(threshold)


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("eror_rate > 5%", "'eror_rate'"),
        ("error_rate => 5%", "'=>'"),
        ("error_rate > 10s", "'10s'"),
        ("error_rate > 5", "'5'"),  # a fraction above 1 without %
        ("avg_latency > $10", "'$10'"),
        ("hourly_cost > 50%", "'50%'"),
        ("model_consecutive_failures > 5.5", "'5.5'"),
        ("avg_latency > 10s or so", "'or'"),
        ("avg_latency >", "'avg_latency >'"),
        ("error_rate > five", "'five'"),
    ],
)
def test_an_unreadable_condition_names_the_token(text: str, token: str) -> None:
    with pytest.raises(ConditionError, match=token.replace("$", r"\$")):
        parse_condition(text)


def test_durations() -> None:
    assert parse_duration("90s") == 90
    assert parse_duration("5m") == 300
    assert parse_duration("1h") == 3600
    assert parse_duration(2) == 2
    for bad in ("5 minutes", "0s", "-1s", True):
        with pytest.raises(ConditionError):
            parse_duration(bad)  # type: ignore[arg-type]


def test_errors_name_the_file_the_rule_and_the_token(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
alerts:
  - name: ok_rule
    condition: error_rate > 5%
    action: page_oncall
  - name: typo
    condition: eror_rate > 5%
    action: page_oncall
  - name: wrong_unit
    condition: avg_latency > 10%
    actions: [slack_alert, pager]
    window: 5 minutes
    colour: red
  - name: disable_everything
    condition: error_rate > 5%
    action: auto_disable_model
  - condition: hourly_cost > $50
    action: email_admin
extra: true
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    lines = [str(issue) for issue in caught.value.issues]
    expected = [
        f"{path}: alerts.typo.condition: unknown metric 'eror_rate'",
        f"{path}: alerts.wrong_unit.condition: threshold '10%'",
        f"{path}: alerts.wrong_unit.actions[1]: unknown value 'pager'",
        f"{path}: alerts.wrong_unit.window: '5 minutes' is not a duration",
        f"{path}: alerts.wrong_unit.colour: unknown field 'colour'",
        f"{path}: alerts.disable_everything.action: auto_disable_model needs a model",
        f"{path}: alerts[4].name:",
        f"{path}: extra: unknown field 'extra'",
    ]
    for prefix in expected:
        assert any(line.startswith(prefix) for line in lines), (prefix, lines)
    assert not any("ok_rule" in line for line in lines)


def test_an_empty_or_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_rules(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="empty"):
        load_rules(_write(tmp_path, ""))
    with pytest.raises(ConfigError, match="duplicate rule name"):
        load_rules(
            _write(
                tmp_path,
                "alerts:\n"
                "  - {name: a, condition: error_rate > 5%, action: webhook}\n"
                "  - {name: a, condition: error_rate > 9%, action: webhook}\n",
            )
        )
