"""The Costs page: after traffic, spend by node and by model as charts (with their totals, equal
to the admin API's), the savings report with a row per node, and the window in the hash."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from tests.admin_ui.conftest import Dashboard, screenshot, sign_in

# The elements (outside scrollable tables) that stick out of a 390 px screen, to name them.
WIDER_THAN_THE_SCREEN = """
[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > 391 && !e.closest('.table-wrap'))
  .map(e => e.tagName + '.' + e.className).slice(0, 8)
"""


def test_costs_show_spend_charts_and_the_savings_report(page: Any, dashboard: Dashboard) -> None:
    for node, times in (("writer", 3), ("formatter", 2), ("evaluator", 1)):
        for _ in range(times):
            assert dashboard.chat(node).status_code == 200
    by_node = dashboard.admin("GET", "/spend", params={"hours": 24, "by": "node"}).json()
    report = dashboard.admin("GET", "/cost-optimization", params={"hours": 24}).json()
    assert report["status"] == "ok"

    sign_in(page, dashboard)
    page.get_by_role("link", name="Costs", exact=True).click()
    page.get_by_role("heading", name="Costs", level=1).wait_for()

    spend = page.get_by_role("region", name="Spend by node")
    chart = spend.get_by_role("img", name=re.compile(r"^Spend by node per"))
    chart.wait_for()
    assert chart.locator("path").count() == len(by_node["series"]) >= 3
    label = chart.get_attribute("aria-label") or ""
    for series in by_node["series"]:
        assert f"{series['key']} ${series['total_cost_usd']}" in label
        row = spend.get_by_role("row").filter(has_text=series["key"])
        assert f"${series['total_cost_usd']}" in row.inner_text()
    assert f"${by_node['total_cost_usd']}" in spend.locator("caption").inner_text()
    models = page.get_by_role("region", name="Spend by model")
    assert models.get_by_role("img", name=re.compile(r"^Spend by model per")).is_visible()

    savings = page.get_by_role("region", name="Savings report")
    for entry in report["nodes"]:
        row = savings.get_by_role("row").filter(
            has=page.get_by_role("cell", name=entry["node"], exact=True)
        )
        text = row.first.inner_text()
        assert f"${entry['actual_cost_usd']}" in text
        assert (entry["current_model"] or "—") in text
    assert savings.get_by_text(report["basis"]).is_visible()
    writer = next(e for e in report["nodes"] if e["node"] == "writer")
    if writer["candidates"]:
        savings.get_by_text(re.compile(r"^writer: \d+ cheaper candidate")).click()
        best = writer["candidates"][0]
        cells = savings.get_by_role("row").filter(has_text=f"${best['cost_usd']}")
        assert best["model"] in cells.first.inner_text()
    assert Decimal(report["totals"]["actual_cost_usd"]) > 0
    screenshot(page, "costs")

    page.get_by_label("Window", exact=True).select_option("168")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"#/costs\?hours=168$"))
    page.get_by_role("img", name=re.compile(r"^Spend by node per")).wait_for()
    assert "last 7 days" in page.locator(".page-header").inner_text()


def test_costs_work_on_a_phone(browser: Any, dashboard: Dashboard) -> None:
    assert dashboard.chat("writer").status_code == 200
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    try:
        sign_in(phone, dashboard)
        for hash_ in ("#/costs", "#/traces"):
            phone.goto(f"{dashboard.base_url}/admin{hash_}")
            phone.locator(".card").first.wait_for()
            phone.wait_for_load_state("networkidle")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (hash_, width)
            screenshot(phone, f"{hash_[2:]}-phone")
        trace = dashboard.admin("GET", "/traces", params={"hours": 1, "limit": 1}).json()
        phone.goto(f"{dashboard.base_url}/admin#/traces/{trace['traces'][0]['trace_id']}")
        phone.get_by_role("region", name="Attempts").wait_for()
        wide = phone.evaluate(WIDER_THAN_THE_SCREEN)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, wide
        screenshot(phone, "trace-phone")
    finally:
        context.close()


def test_the_budget_form_sends_what_was_typed(page: Any, dashboard: Dashboard) -> None:
    """A wrong output cap or warning level is refused at its field and nothing is saved (not
    sent as null, which would mean "none"); after clearing, the keyboard is on the form."""
    sign_in(page, dashboard)
    page.goto(f"{dashboard.base_url}/admin#/costs")
    budgets = page.get_by_role("region", name="Budgets")
    form = budgets.get_by_role("form", name="Set a budget")
    form.get_by_label("Scope").fill("node:writer")
    form.get_by_label("Daily cap (USD)").fill("5")
    try:
        wrong = (("Output cap (tokens)", "output_cap", "lots"), ("Warn at", "warn_at", "0.5, soon"))
        for label, name, typed in wrong:
            form.get_by_label(label).fill(typed)
            form.get_by_role("button", name="Set budget").click()
            form.locator(".field-error").filter(has_text="422").wait_for()
            assert form.get_by_label(label).get_attribute("aria-invalid") == "true"
            assert page.evaluate("document.activeElement.name") == name
            assert "node:writer" not in dashboard.admin("GET", "/budgets").json()["admin"]
            form.get_by_label(label).fill("")
        form.get_by_label("Output cap (tokens)").fill("2000")
        form.get_by_role("button", name="Set budget").click()
        form.get_by_role("status").filter(has_text="Budget node:writer set").wait_for()
        saved = dashboard.admin("GET", "/budgets").json()["admin"]["node:writer"]
        assert saved["output_cap"] == 2000

        budgets.get_by_role("button", name="Clear admin budget node:writer").click()
        page.get_by_role("dialog").get_by_role("button", name="Clear budget").click()
        page.locator(".notice.success").filter(has_text="Budget node:writer cleared").wait_for()
        assert page.evaluate("document.activeElement.name") == "scope"
    finally:
        dashboard.admin("DELETE", "/budgets/node:writer")
