"""The Alerts page on a gateway with an alerts file: the rules with their state, actions
configured or what they miss, a rule firing on real traffic with its incident in the history,
and a test notification from the page showing each action's outcome (the webhook delivered to a
loopback receiver, e-mail not configured), audited."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.admin_ui.conftest import Dashboard, screenshot, sign_in
from tests.admin_ui.ops_gateway import ops_dashboard
from tests.alerts.receivers import HttpReceiver

RULES = """\
alerts:
  - name: any_spend
    condition: hourly_cost > $0
    action: webhook
  - name: high_error_rate
    condition: error_rate > 5%
    actions: [webhook, email_admin]
  - name: model_failures
    condition: model_consecutive_failures > 5
    action: auto_disable_model
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, HttpReceiver]]:
    with ops_dashboard(tmp_path_factory.mktemp("alerts"), alerts=RULES) as running:
        yield running


@pytest.fixture(scope="module")
def dashboard(served: tuple[Dashboard, HttpReceiver]) -> Dashboard:
    return served[0]


def rule(dashboard: Dashboard, name: str) -> dict[str, Any]:
    rules = dashboard.admin("GET", "/alerts").json()["rules"]
    found: dict[str, Any] = next(r for r in rules if r["name"] == name)
    return found


def wait_firing(dashboard: Dashboard, name: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while rule(dashboard, name)["state"] != "firing":
        assert time.monotonic() < deadline, f"{name} did not fire"
        time.sleep(0.1)


def test_rules_state_history_and_a_test_notification(
    page: Any, served: tuple[Dashboard, HttpReceiver]
) -> None:
    dashboard, hooks = served
    assert dashboard.chat("writer").status_code == 200
    wait_firing(dashboard, "any_spend")
    sign_in(page, dashboard)
    page.get_by_role("navigation").get_by_role("link", name="Alerts").click()
    page.get_by_role("heading", name="Alerts", level=1).wait_for()

    rules = page.get_by_role("region", name="Rules")
    spend = rules.get_by_role("row").filter(has_text="any_spend")
    spend.get_by_text("firing", exact=True).wait_for()
    assert "hourly_cost > $0" in spend.inner_text()
    errors = rules.get_by_role("row").filter(has_text="high_error_rate")
    errors.get_by_text("ok", exact=True).wait_for()
    assert "GATEWAY_SMTP_HOST is not set" in errors.inner_text()  # e-mail's missing setting
    assert "configured" in errors.inner_text()
    failures = rules.get_by_role("row").filter(has_text="model_failures")
    assert "built in" in failures.inner_text()
    history = page.get_by_role("region", name="Incident history")
    history.get_by_role("row").filter(has_text="any_spend").get_by_text("firing").wait_for()
    actions = page.get_by_role("region", name="Actions")
    assert (
        "GATEWAY_SMTP_HOST is not set"
        in actions.get_by_role("row").filter(has_text="email_admin").inner_text()
    )

    rules.get_by_role("button", name="Send test notification for high_error_rate").click()
    result = rules.get_by_role("status")
    result.get_by_text("Test notification for high_error_rate").wait_for()
    result.get_by_text("not delivered").wait_for()
    webhook = result.get_by_role("row").filter(has_text="webhook")
    webhook.get_by_text("sent", exact=True).wait_for()
    email = result.get_by_role("row").filter(has_text="email_admin")
    assert "not configured" in email.inner_text()
    tests = [r.json for r in hooks.at("/hook") if r.json.get("event") == "test"]
    assert [t["rule"] for t in tests] == ["high_error_rate"]
    screenshot(page, "alerts")

    audit = dashboard.admin("GET", "/audit", params={"action": "alert.test"}).json()
    assert audit["entries"][0]["target"] == "high_error_rate"
    assert audit["entries"][0]["after"]["webhook"] == "sent"
