"""The Nodes page in a real browser: every node's requirements, model now, chain and override; an
override set and cleared in the page decides the very next request; the gateway's refusals are
shown at the field; bulk edit is all or nothing; test-selection shows reasons and rejections.

Each test leaves the module's gateway without overrides (``no_overrides``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from tests.admin_ui.conftest import Dashboard, screenshot, sign_in


@pytest.fixture(autouse=True)
def no_overrides(dashboard: Dashboard) -> Iterator[None]:
    yield
    for node, entry in dashboard.admin("GET", "/policies").json()["nodes"].items():
        if entry["override"] is not None:
            assert dashboard.admin("DELETE", f"/policies/{node}").status_code == 200


def open_nodes(page: Any, dashboard: Dashboard) -> None:
    sign_in(page, dashboard)
    page.get_by_role("link", name="Nodes", exact=True).click()
    page.get_by_role("heading", name="Nodes", level=1).wait_for()


def node_row(page: Any, node: str) -> Any:
    table = page.get_by_role("region", name="Nodes and their models")
    return table.locator(f'tr[data-node="{node}"]')


def files_choice(dashboard: Dashboard, node: str) -> str:
    entry = dashboard.admin("GET", "/policies").json()["nodes"][node]
    assert entry["override"] is None
    return str(entry["model_id"])


def test_every_node_shows_its_requirements_model_and_chain(page: Any, dashboard: Dashboard) -> None:
    policies = dashboard.admin("GET", "/policies").json()["nodes"]
    open_nodes(page, dashboard)

    rows = page.get_by_role("region", name="Nodes and their models").locator("tbody tr")
    assert rows.count() == len(policies)
    writer = node_row(page, "writer")
    for capability in ("streaming", "creative_writing"):
        writer.get_by_text(capability, exact=True).first.wait_for()
    assert "context ≥ 8,000 · tier ≤ HIGH" in writer.inner_text()
    chain = writer.locator("ol.chain li")
    assert chain.all_inner_texts() == policies["writer"]["fallback_chain"]
    assert writer.get_by_role("link", name=policies["writer"]["model_id"]).first.is_visible()
    evaluator = node_row(page, "evaluator")
    evaluator.get_by_text("reasoning", exact=True).first.wait_for()
    assert "cost_optimized" in node_row(page, "formatter").inner_text()
    screenshot(page, "nodes")


def test_an_override_set_in_the_page_decides_the_next_request(
    page: Any, dashboard: Dashboard
) -> None:
    default = files_choice(dashboard, "writer")
    target = "claude-sonnet" if default != "claude-sonnet" else "gpt-4o"
    open_nodes(page, dashboard)

    node_row(page, "writer").get_by_role("button", name="Override writer").click()
    form = page.get_by_role("form", name="Set or clear an override")
    assert form.get_by_label("Node", exact=True).input_value() == "writer"
    form.get_by_label("Model", exact=True).fill(target)
    form.get_by_label("Reason", exact=True).fill("dashboard test")
    form.get_by_role("button", name="Set override").click()
    form.get_by_text(f"Override set: writer → {target} — applied by 1 of 1 replica").wait_for()

    answer = dashboard.chat("writer")
    assert answer.status_code == 200 and answer.json()["model"] == target
    row = node_row(page, "writer")
    row.get_by_text("override", exact=True).wait_for()
    row.get_by_text("files alone:").wait_for()
    audit = dashboard.admin("GET", "/audit", params={"target": "writer", "limit": 1}).json()
    assert audit["entries"][0]["detail"] == "dashboard test"

    row.get_by_role("button", name="Clear override of writer").click()
    form.get_by_text("Override of writer cleared — applied by 1 of 1 replica").wait_for()
    node_row(page, "writer").get_by_role("button", name="Clear override of writer").wait_for(
        state="detached"
    )
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused == "Override writer"  # the keyboard stays in the row
    assert dashboard.chat("writer").json()["model"] == default


def test_a_refused_override_shows_the_gateways_message_at_the_field(
    page: Any, dashboard: Dashboard
) -> None:
    open_nodes(page, dashboard)
    form = page.get_by_role("form", name="Set or clear an override")

    form.get_by_label("Node", exact=True).fill("writer")
    form.get_by_label("Model", exact=True).fill("gpt-9")
    form.get_by_role("button", name="Set override").click()
    message = form.get_by_role("alert")
    unknown = re.compile(r"^422 unknown model 'gpt-9' \(known: .*\) \(model_id\)$")
    message.get_by_text(unknown).wait_for()
    assert form.get_by_label("Model", exact=True).get_attribute("aria-invalid") == "true"
    assert form.get_by_label("Node", exact=True).get_attribute("aria-invalid") is None

    form.get_by_label("Model", exact=True).fill("gpt-4o-mini")  # lacks creative_writing
    form.get_by_label("Model", exact=True).press("Enter")  # the keyboard submits the form
    message.get_by_text("does not meet the requirements of node 'writer'").wait_for()
    assert "missing capabilities creative_writing" in message.inner_text()

    form.get_by_label("Node", exact=True).fill("nobody")
    form.get_by_role("button", name="Set override").click()
    message.get_by_text(re.compile(r"^404 unknown node 'nobody'.*\(node\)$")).wait_for()
    assert form.get_by_label("Node", exact=True).get_attribute("aria-invalid") == "true"
    assert dashboard.admin("GET", "/policies").json()["nodes"]["writer"]["override"] is None
    screenshot(page, "nodes-override-refused")


def test_bulk_edit_is_all_or_nothing(page: Any, dashboard: Dashboard) -> None:
    open_nodes(page, dashboard)
    bulk = page.get_by_role("form", name="Bulk edit overrides")

    bulk.get_by_label("writer", exact=True).fill("claude-sonnet")
    bulk.get_by_label("evaluator", exact=True).fill("gpt-4o-mini")  # no reasoning: refused
    bulk.get_by_role("button", name="Apply bulk update").click()
    bulk.get_by_role("alert").get_by_text("bulk update rejected, nothing was changed").wait_for()
    evaluator = bulk.get_by_label("evaluator", exact=True)
    assert evaluator.get_attribute("aria-invalid") == "true"
    assert bulk.get_by_label("writer", exact=True).get_attribute("aria-invalid") is None
    problem = bulk.locator("tr").filter(has=page.get_by_label("evaluator", exact=True))
    assert "reasoning required" in problem.inner_text()
    nodes = dashboard.admin("GET", "/policies").json()["nodes"]
    assert nodes["writer"]["override"] is None and nodes["evaluator"]["override"] is None

    evaluator.fill("claude-opus")
    bulk.get_by_role("button", name="Apply bulk update").click()
    bulk.get_by_text("Bulk update applied to 2 nodes — applied by 1 of 1 replica").wait_for()
    nodes = dashboard.admin("GET", "/policies").json()["nodes"]
    assert nodes["writer"]["override"]["model_id"] == "claude-sonnet"
    assert nodes["evaluator"]["override"]["model_id"] == "claude-opus"
    assert dashboard.chat("evaluator").json()["model"] == "claude-opus"
    node_row(page, "evaluator").get_by_text("override", exact=True).wait_for()
    assert bulk.get_by_label("writer", exact=True).input_value() == ""


def test_test_selection_shows_the_choice_reasons_and_rejected_models(
    page: Any, dashboard: Dashboard
) -> None:
    expected = dashboard.admin(
        "POST", "/test-selection", json={"node_name": "writer", "strategy": "cost_optimized"}
    ).json()
    open_nodes(page, dashboard)
    form = page.get_by_role("form", name="Test selection")

    form.get_by_label("Node", exact=True).fill("writer")
    form.get_by_label("Strategy", exact=True).select_option("cost_optimized")
    form.get_by_role("button", name="Test selection").click()
    result = form.locator(".selection-result")
    result.locator(".chosen-model").get_by_text(expected["selected_model"]).wait_for()
    reasons = result.locator("ul.reasons li").all_inner_texts()
    assert reasons == expected["reasons"]
    rejected = result.get_by_role("row").filter(has_text="claude-opus")
    assert "cost tier PREMIUM above max HIGH" in rejected.inner_text()
    screenshot(page, "nodes-test-selection")

    form.get_by_label("vision", exact=True).check()
    form.get_by_label("web_search", exact=True).check()
    form.get_by_role("button", name="Test selection").click()
    form.get_by_role("alert").get_by_text("no model satisfies node 'writer'").wait_for()
    mini = result.get_by_role("row").filter(has_text="gpt-4o-mini")
    assert "missing capabilities" in mini.inner_text()


def test_the_nodes_page_works_on_a_phone(browser: Any, dashboard: Dashboard) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    try:
        sign_in(phone, dashboard)
        phone.goto(f"{dashboard.base_url}/admin#/nodes")
        phone.get_by_role("heading", name="Nodes", level=1).wait_for()
        phone.get_by_role("form", name="Test selection").wait_for()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        screenshot(phone, "nodes-phone")
    finally:
        context.close()
