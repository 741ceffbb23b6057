"""See a budget refuse a request: a small gateway cap set on the Costs page (the gateway's answer
shown, applied by every replica), requests sent until one is refused with 429, the budget shown
exhausted on the page, and the refused request in Traces (status refused, the budget's error).
A module of its own: it leaves a budget spent on its gateway."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from tests.admin_ui.conftest import Dashboard, screenshot, sign_in

CAP = "0.001"
MAX_REQUESTS = 40


def _gateway_day(dashboard: Dashboard) -> dict[str, Any]:
    rows = dashboard.admin("GET", "/budgets").json()["budgets"]
    row: dict[str, Any] = next(r for r in rows if r["scope"] == "gateway" and r["period"] == "day")
    return row


def test_a_budget_set_on_the_page_refuses_a_request(page: Any, dashboard: Dashboard) -> None:
    sign_in(page, dashboard)
    page.goto(f"{dashboard.base_url}/admin#/costs")
    budgets = page.get_by_role("region", name="Budgets")
    budgets.get_by_text("No budget is set.").wait_for()
    form = budgets.get_by_role("form", name="Set a budget")
    form.get_by_label("Scope").fill("gateway")
    form.get_by_label("Daily cap (USD)").fill("-1")
    form.get_by_role("button", name="Set budget").click()
    error = form.locator(".field-error").filter(has_text="422")
    error.wait_for()  # the API's refusal, shown at the field it names
    assert form.get_by_label("Daily cap (USD)").get_attribute("aria-invalid") == "true"
    page.locator(".notice.error").filter(has_text="Setting the budget gateway failed").wait_for()

    form.get_by_label("Daily cap (USD)").fill(CAP)
    form.get_by_label("Reason").fill("browser test")
    form.get_by_role("button", name="Set budget").click()
    form.get_by_role("status").filter(has_text="applied by 1 of 1 replica").wait_for()
    assert f"day ${CAP}" in form.get_by_role("status").inner_text()
    row = budgets.get_by_role("row").filter(has_text="gateway")
    row.get_by_text("open", exact=True).wait_for()
    assert f"${CAP}" in row.inner_text()

    statuses: list[int] = []
    for _ in range(MAX_REQUESTS):
        answer = dashboard.chat("writer", max_tokens=16)
        statuses.append(answer.status_code)
        if answer.status_code != 200:
            break
    assert statuses[-1] == 429 and set(statuses[:-1]) == {200}, (statuses, answer.text)
    assert len(statuses) > 1  # the cap let some in before it refused
    refused = answer
    assert refused.json()["error"]["type"] == "budget_exceeded"
    api_row = _gateway_day(dashboard)
    assert Decimal(api_row["spent"]) <= Decimal(CAP)

    page.reload()
    budgets = page.get_by_role("region", name="Budgets")
    row = budgets.get_by_role("row").filter(has_text="gateway")
    row.get_by_text("exhausted", exact=True).wait_for()
    assert api_row["refusals_here"] >= 1
    assert f"needed up to ${api_row['last_refusal_here']['estimate']}" in row.inner_text()
    screenshot(page, "budget-refused")

    page.goto(f"{dashboard.base_url}/admin#/traces?status=refused")
    link = page.get_by_role("link", name=f"Trace {refused.headers['x-trace-id']}")
    link.wait_for()
    trace_row = page.get_by_role("row").filter(has=link)
    assert "refused" in trace_row.inner_text()
    link.click()
    error_card = page.get_by_role("region", name="Error")
    error_card.get_by_text("budget_exceeded", exact=True).first.wait_for()
    assert "budget gateway (day) would be exceeded" in error_card.inner_text()
    attempts = page.get_by_role("region", name="Attempts")
    assert "No model was called" in attempts.inner_text()

    page.goto(f"{dashboard.base_url}/admin#/costs")
    budgets = page.get_by_role("region", name="Budgets")
    budgets.get_by_role("button", name="Clear admin budget gateway").click()
    dialog = page.get_by_role("dialog", name="Clear the admin budget gateway?")
    dialog.get_by_role("button", name="Clear budget").click()
    page.locator(".notice.success").filter(has_text=re.compile("Budget gateway cleared")).wait_for()
    budgets.get_by_text("No budget is set.").wait_for()
    assert dashboard.chat("writer").status_code == 200
