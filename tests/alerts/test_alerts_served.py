"""Each condition fires once and resolves, against local receivers: a signed webhook, PagerDuty
Events API v2 and Slack shapes, e-mail over SMTP; a test notification; budget_used without
budgets; reloads keep the last good rules."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from pathlib import Path

import httpx
import pytest
from tests.alerts.receivers import wait_for
from tests.alerts.served import ROUTING_KEY, SLACK_PATH, WEBHOOK_SECRET, alerting
from tests.http.conftest import AUTH

from llm_gateway.simulator.testing import SimulatorHandle

FAILING = {"zero_latency": True, "models": {"*": {"faults": [{"kind": "error", "status": 503}]}}}
SLOW = {"zero_latency": False, "models": {"*": {"ttft_s": 0.4, "tokens_per_s": 10_000}}}


def _traffic_until(alerts, check, what: str, model: str = "formatter"):  # type: ignore[no-untyped-def]
    """Send requests (bounded) until ``check()`` holds."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        alerts.ask(model)
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within 30 s")


def test_error_rate_pages_once_signs_the_webhook_and_resolves(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    rules = """\
alerts:
  - name: high_error_rate
    condition: error_rate > 5%
    actions: [page_oncall, webhook]
    window: 1s
    severity: critical
"""
    with alerting(tmp_path, simulator, rules) as alerts:
        simulator.set_scenario(FAILING)
        _traffic_until(alerts, lambda: alerts.events("/pd", "trigger"), "trigger")
        (hook,) = wait_for(lambda: alerts.hooks.at("/hook"), what="webhook")
        expected = hmac.new(WEBHOOK_SECRET.encode(), hook.raw, hashlib.sha256).hexdigest()
        assert hook.headers["x-gateway-signature"] == f"sha256={expected}"
        assert hook.json["event"] == "trigger" and hook.json["rule"] == "high_error_rate"
        (trigger,) = alerts.events("/pd", "trigger")
        assert trigger["routing_key"] == ROUTING_KEY
        assert trigger["dedup_key"] == "llm-gateway:high_error_rate:all"
        payload = trigger["payload"]
        assert payload["severity"] == "critical"
        assert "error_rate 100% > 5%" in payload["summary"]
        assert payload["source"] and payload["timestamp"]
        state = alerts.state()
        (rule,) = state["rules"]
        assert rule["state"] == "firing" and rule["last_firing"]["rule"] == "high_error_rate"
        time.sleep(1.0)  # more rounds while it still fails: no second page
        assert len(alerts.events("/pd", "trigger")) == 1
        simulator.set_scenario({"zero_latency": True})
        _traffic_until(alerts, lambda: alerts.events("/pd", "resolve"), "resolve")
        (resolve,) = alerts.events("/pd", "resolve")
        assert resolve["dedup_key"] == trigger["dedup_key"]
        assert resolve["routing_key"] == ROUTING_KEY and "payload" not in resolve
        wait_for(lambda: alerts.events("/hook", "resolve"), what="webhook resolve")
        history = alerts.state()["history"]
        assert history[0]["state"] == "resolved" and history[0]["notifications"] == 1


def test_latency_goes_to_slack_and_cost_to_email_and_both_resolve(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    rules = """\
alerts:
  - name: high_latency
    condition: avg_latency > 200ms
    action: slack_alert
    window: 1s
  - name: slow_tail
    condition: p95_latency > 200ms
    action: slack_alert
    window: 1s
    scope: node
  - name: cost_spike
    condition: hourly_cost > $0.000001
    action: email_admin
    window: 1s
"""
    with alerting(tmp_path, simulator, rules) as alerts:
        simulator.set_scenario(SLOW)

        def slack_texts() -> list[str]:
            return [b["text"] for b in alerts.events(SLACK_PATH)]

        _traffic_until(
            alerts,
            lambda: sum("FIRING" in t for t in slack_texts()) >= 2 and alerts.mail,
            "latency and cost alerts",
        )
        texts = slack_texts()
        assert any("high_latency (all)" in t and "avg_latency" in t for t in texts)
        assert any("slow_tail (formatter)" in t for t in texts)
        slack = alerts.events(SLACK_PATH)[0]
        assert slack["blocks"][0]["type"] == "section"  # Slack's incoming-webhook shape
        mail = alerts.mail[0]
        assert mail["To"] == "admin@example.test"
        assert "[FIRING] cost_spike" in mail["Subject"]
        simulator.set_scenario({"zero_latency": True})
        wait_for(lambda: sum("RESOLVED" in t for t in slack_texts()) >= 2, what="slack resolves")
        wait_for(lambda: any("RESOLVED" in m["Subject"] for m in alerts.mail), what="mail resolve")
        firing = [t for t in slack_texts() if "FIRING" in t]
        assert len(firing) == 2  # one per incident


def test_consecutive_failures_disable_the_model_until_an_admin_enables_it(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    rules = """\
alerts:
  - name: model_failures
    condition: model_consecutive_failures > 2
    actions: [auto_disable_model, webhook]
"""
    with alerting(tmp_path, simulator, rules) as alerts:
        simulator.set_scenario(
            {
                "zero_latency": True,
                "models": {"openai/gpt-4o-mini": {"faults": [{"kind": "error", "status": 503}]}},
            }
        )
        for _ in range(3):
            assert alerts.ask("gpt-4o-mini").status_code >= 500
        (hook,) = wait_for(lambda: alerts.events("/hook", "trigger"), what="trigger")
        assert hook["scope"] == "gpt-4o-mini"
        assert hook["details"]["disabled_model"] == "gpt-4o-mini"
        health = httpx.get(f"{alerts.url}/api/admin/gateway/health", headers=AUTH).json()
        assert health["models"]["gpt-4o-mini"]["auto_disabled_by_alert"] == "model_failures"
        assert "gpt-4o-mini" in health["disabled_models"]
        assert alerts.ask("gpt-4o-mini").status_code >= 400  # out of selection
        simulator.clear()
        enabled = httpx.put(
            f"{alerts.url}/api/admin/gateway/models/gpt-4o-mini",
            json={"enabled": True},
            headers=AUTH,
        )
        assert enabled.status_code == 200, enabled.text
        resolve = wait_for(lambda: alerts.events("/hook", "resolve"), what="resolve")
        assert "model enabled again" in resolve[0]["summary"]
        simulator.set_scenario({"zero_latency": True})
        answer = alerts.ask("gpt-4o-mini")
        assert answer.status_code == 200 and answer.headers["x-gateway-model"] == "gpt-4o-mini"
        time.sleep(0.6)  # the failures that fired it do not fire it again
        assert len(alerts.events("/hook", "trigger")) == 1


def test_a_recovery_probe_brings_the_model_back(tmp_path: Path, simulator: SimulatorHandle) -> None:
    rules = """\
alerts:
  - name: model_failures
    condition: model_consecutive_failures > 1
    action: auto_disable_model
    recover_after: 1s
"""
    with alerting(tmp_path, simulator, rules) as alerts:
        simulator.set_scenario(
            {
                "zero_latency": True,
                "models": {"openai/gpt-4o-mini": {"faults": [{"kind": "error", "status": 503}]}},
            }
        )
        for _ in range(2):
            alerts.ask("gpt-4o-mini")

        def disabled() -> bool:
            health = httpx.get(f"{alerts.url}/api/admin/gateway/health", headers=AUTH).json()
            return "gpt-4o-mini" in health["disabled_models"]

        wait_for(disabled, what="auto-disabled")
        time.sleep(1.5)  # a probe fails meanwhile: still disabled
        assert disabled()
        simulator.set_scenario({"zero_latency": True})
        wait_for(lambda: not disabled(), what="re-enabled by the probe")
        history = alerts.state()["history"]
        assert history[0]["state"] == "resolved"
        assert history[0]["detail"]["last_probe"] == "ok"


def test_a_test_notification_and_budget_used_without_budgets(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    rules = """\
alerts:
  - name: budget_burn
    condition: budget_used > 80%
    actions: [webhook, slack_alert, page_oncall, email_admin]
"""
    with alerting(tmp_path, simulator, rules) as alerts:

        def rule_state() -> str:
            rule = alerts.state()["rules"][0]
            return str(rule["state"]) if rule["last_evaluation"] else ""

        assert wait_for(rule_state, what="evaluated") == "no budgets configured"
        sent = httpx.post(f"{alerts.url}/api/admin/gateway/alerts/budget_burn/test", headers=AUTH)
        assert sent.status_code == 200, sent.text
        assert sent.json()["results"] == {
            "webhook": "sent",
            "slack_alert": "sent",
            "page_oncall": "sent",
            "email_admin": "sent",
        }
        assert alerts.events("/hook", "test")[0]["rule"] == "budget_burn"
        assert alerts.events("/pd", "trigger")[0]["payload"]["severity"] == "info"
        assert "[TEST]" in alerts.mail[0]["Subject"]
        audit = httpx.get(f"{alerts.url}/api/admin/gateway/audit?action=alert.test", headers=AUTH)
        entry = audit.json()["entries"][0]  # from the record store, as every admin change
        assert (entry["target"], entry["after"]["webhook"]) == ("budget_burn", "sent")
        missing = httpx.post(f"{alerts.url}/api/admin/gateway/alerts/nope/test", headers=AUTH)
        assert missing.status_code == 404


def test_a_failing_receiver_is_retried_and_a_bad_reload_keeps_the_rules(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    rules = """\
alerts:
  - name: any_traffic
    condition: hourly_cost > $0.000001
    action: webhook
"""
    with alerting(tmp_path, simulator, rules) as alerts:
        alerts.hooks.fail_next = 2
        sent = httpx.post(f"{alerts.url}/api/admin/gateway/alerts/any_traffic/test", headers=AUTH)
        assert sent.json()["results"] == {"webhook": "sent"}
        deliveries = alerts.state()["deliveries"]["webhook"]
        assert deliveries["retries"] == 2 and deliveries["sent"] == 1
        (tmp_path / "alerts.yaml").write_text(
            "alerts:\n  - name: x\n    condition: eror_rate > 5%\n    action: webhook\n"
        )
        reload = httpx.post(f"{alerts.url}/api/admin/gateway/policies/reload", headers=AUTH)
        assert reload.status_code == 200, reload.text
        assert reload.json()["alerts"]["status"] == "kept"
        assert any("eror_rate" in w for w in reload.json()["warnings"])
        state = alerts.state()
        assert [r["name"] for r in state["rules"]] == ["any_traffic"]
        assert "alerts.x.condition" in state["error"]
        (tmp_path / "alerts.yaml").write_text(
            "alerts:\n  - name: y\n    condition: error_rate > 5%\n    action: webhook\n"
        )
        reload = httpx.post(f"{alerts.url}/api/admin/gateway/policies/reload", headers=AUTH)
        assert reload.json()["alerts"]["status"] == "reloaded"
        assert [r["name"] for r in alerts.state()["rules"]] == ["y"]


class Budgets:
    """A budget provider as the alerts see one (the BudgetUsage protocol)."""

    def __init__(self) -> None:
        self.used = 0.9

    async def usage(self) -> list[tuple[str, float]]:
        return [("global/day", self.used)]


def test_budget_used_fires_per_budget_once_a_provider_is_attached(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    rules = """\
alerts:
  - name: budget_burn
    condition: budget_used > 80%
    action: webhook
"""
    with alerting(tmp_path, simulator, rules) as alerts:
        budgets = Budgets()
        alerts.apps[0].state.llm_gateway.budgets = budgets
        (fired,) = wait_for(lambda: alerts.events("/hook", "trigger"), what="budget alert")
        assert fired["scope"] == "global/day" and "budget_used 90% > 80%" in fired["summary"]
        assert alerts.state()["rules"][0]["state"] == "firing"
        budgets.used = 0.5
        wait_for(lambda: alerts.events("/hook", "resolve"), what="budget resolve")


def test_delivery_targets_and_keys_never_reach_the_logs(
    tmp_path: Path, simulator: SimulatorHandle, caplog: pytest.LogCaptureFixture
) -> None:
    rules = """\
alerts:
  - name: everything
    condition: error_rate > 5%
    actions: [webhook, slack_alert, page_oncall]
"""
    caplog.set_level(logging.DEBUG)
    with alerting(tmp_path, simulator, rules) as alerts:
        alerts.hooks.fail_next = 100  # every delivery fails: retried, then logged once each
        sent = httpx.post(f"{alerts.url}/api/admin/gateway/alerts/everything/test", headers=AUTH)
        results = sent.json()["results"]
        assert all(result.startswith("HTTP 503 after 4 attempt(s)") for result in results.values())
        failures = [r for r in caplog.records if "delivery failed" in r.getMessage()]
        assert len(failures) == 3  # one line per action, not one per attempt
        state = alerts.state()
    text = caplog.text + json.dumps(state)
    for secret in ("slacktoken0123456789", ROUTING_KEY, WEBHOOK_SECRET, "T0ABCDEF12", "B0ABCDEF34"):
        assert secret not in text


def test_budget_used_fires_on_a_budget_of_budgets_yaml(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    rules = """\
alerts:
  - name: budget_burn
    condition: budget_used > 1%
    action: webhook
"""
    with alerting(tmp_path, simulator, rules, budgets='gateway: {day: "0.01"}\n') as alerts:
        (fired,) = _traffic_until(
            alerts, lambda: alerts.events("/hook", "trigger"), "a budget alert"
        )
        assert fired["scope"] == "gateway/day" and fired["rule"] == "budget_burn"
        assert fired["summary"].startswith("budget_used ")
