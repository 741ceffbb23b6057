"""The shipped monitoring files: ``deploy/prometheus/alerts.yml`` is valid for promtool and its
rules fire as their unit tests say; every metric that ``deploy/grafana/llm-gateway.json`` and the
rules query is in a real ``/metrics`` scrape of the served gateway."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from tests.http.serving import serve
from tests.http.test_metrics_served import mixed_gateway_settings, send_mixed

from llm_gateway.app import create_app
from llm_gateway.simulator.testing import SimulatorHandle

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "llm-gateway.json"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not installed (Debian package 'prometheus'; .ci/run installs it)",
)

_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAME = re.compile(r"(?<![\w$])([a-zA-Z_:][\w:]*)\b(?!\s*\()")
_KEYWORDS = {"and", "or", "unless", "bool", "offset"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label matchers, ranges, groupings cut)."""
    bare = re.sub(r'"[^"]*"', "", expr)
    bare = re.sub(r"\{[^}]*\}", "", bare)
    bare = re.sub(r"\[[^\]]*\]", "", bare)
    bare = _GROUPING.sub("", bare)
    return {name for name in _NAME.findall(bare) if name not in _KEYWORDS}


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    assert exprs, "the dashboard queries nothing"
    return exprs


def rule_exprs() -> list[str]:
    rules = yaml.safe_load(RULES.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def test_metric_names_are_read_out_of_promql() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, node) (rate(llm_gateway_x_bucket{a="b"}[5m])))'
        " / on (model) clamp_min(sum(process_y), 1) unless llm_gateway_z"
    )
    assert metric_names(expr) == {"llm_gateway_x_bucket", "process_y", "llm_gateway_z"}


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    assert PROMTOOL is not None
    check = subprocess.run(
        [PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 8 rules found" in check.stdout


@needs_promtool
def test_the_guide_rules_fire_as_their_unit_tests_say() -> None:
    assert PROMTOOL is not None
    run = subprocess.run(
        [PROMTOOL, "test", "rules", "alerts_test.yml"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=RULES.parent,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_guide_alerts_are_all_there() -> None:
    rules = yaml.safe_load(RULES.read_text())
    actions = {
        rule["alert"]: rule["labels"].get("action")
        for group in rules["groups"]
        for rule in group["rules"]
    }
    assert {
        "high_error_rate": "page_oncall",
        "high_latency": "slack_alert",
        "cost_spike": "email_admin",
        "model_failures": "auto_disable_model",
    }.items() <= actions.items()


def test_the_dashboard_has_the_panels_an_operator_needs() -> None:
    titles = " | ".join(p["title"] for p in json.loads(DASHBOARD.read_text())["panels"]).lower()
    for needed in (
        "request rate",
        "error rate",
        "p95",
        "first token",
        "cost per hour by model",
        "model distribution",
        "fallbacks",
        "circuit",
        "ledger",
    ):
        assert needed in titles


@pytest.mark.timeout(60)
def test_every_queried_metric_is_in_a_real_scrape(
    simulator: SimulatorHandle, tmp_path: Path
) -> None:
    # The primary's circuit opens (threshold 1): a circuit-state series too.
    settings = mixed_gateway_settings(simulator, tmp_path, GATEWAY_CIRCUIT_FAILURE_THRESHOLD=1)
    with serve(create_app(settings)) as (url, _):
        send_mixed(url)
        text = httpx.get(f"{url}/metrics", timeout=10).text
    present = {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }
    queried: dict[str, Any] = {}
    for expr in dashboard_exprs() + rule_exprs():
        for name in metric_names(expr):
            queried.setdefault(name, expr)
    assert len(queried) >= 20
    missing = {name: expr for name, expr in queried.items() if name not in present}
    assert not missing, f"queried but not exposed: {missing}"
    assert all(name.startswith(("llm_gateway_", "gen_ai_", "process_")) for name in queried)
