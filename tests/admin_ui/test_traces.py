"""The Traces page: filter by node and by status (the filter in the hash, surviving a reload),
find a trace by id, and open one — its selection, every attempt on the timeline, its tokens and
its exact cost, as the admin API gives them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from tests.admin_ui.conftest import Dashboard, screenshot, sign_in

ZERO_LATENCY = {"zero_latency": True}


def _provider_model(dashboard: Dashboard, model_id: str) -> str:
    models = dashboard.admin("GET", "/models").json()["models"]
    return next(m["provider_model_id"] for m in models if m["model_id"] == model_id)


def _selected(dashboard: Dashboard, node: str) -> str:
    answer = dashboard.admin("POST", "/test-selection", json={"node_name": node})
    model: str = answer.json()["selected_model"]
    return model


@pytest.fixture
def traffic(dashboard: Dashboard) -> Iterator[dict[str, str]]:
    """Writer requests (the first retried once after a 503), formatter requests and one
    formatter request the upstream refuses with a 400 (surfaced at once: an error trace)."""
    writer_upstream = _provider_model(dashboard, _selected(dashboard, "writer"))
    formatter_upstream = _provider_model(dashboard, _selected(dashboard, "formatter"))
    dashboard.simulator.set_scenario(
        {
            "zero_latency": True,
            "models": {writer_upstream: {"faults": [{"kind": "error", "status": 503, "times": 1}]}},
        }
    )
    retried = dashboard.chat("writer")
    assert retried.status_code == 200, retried.text
    assert dashboard.chat("writer").status_code == 200
    assert dashboard.chat("formatter").status_code == 200
    dashboard.simulator.set_scenario(
        {
            "zero_latency": True,
            "models": {
                formatter_upstream: {
                    "faults": [{"kind": "error", "status": 400, "message": "bad", "times": 1}]
                }
            },
        }
    )
    failed = dashboard.chat("formatter")
    assert failed.status_code >= 400, failed.text
    dashboard.simulator.set_scenario(ZERO_LATENCY)
    yield {"retried": retried.headers["x-trace-id"], "failed": failed.headers["x-trace-id"]}
    dashboard.simulator.set_scenario(ZERO_LATENCY)


def _trace_rows(page: Any) -> Any:
    return page.get_by_role("region", name="Kept traces").locator("tbody tr")


def test_filter_traces_by_node_and_status_and_open_one(
    page: Any, dashboard: Dashboard, traffic: dict[str, str]
) -> None:
    sign_in(page, dashboard)
    page.get_by_role("link", name="Traces", exact=True).click()
    page.get_by_role("heading", name="Traces", level=1).wait_for()
    assert page.get_by_role("link", name="Traces", exact=True).get_attribute("aria-current") == (
        "page"
    )
    filters = page.get_by_role("search", name="Filter traces")
    filters.get_by_label("Node").select_option("writer")
    filters.get_by_role("button", name="Apply filter").click()
    page.wait_for_url(re.compile(r"#/traces\?node=writer$"))
    rows = _trace_rows(page)
    rows.first.wait_for()
    assert rows.count() >= 2
    for text in rows.all_inner_texts():
        assert "writer" in text and "formatter" not in text
    page.get_by_role("link", name=f"Trace {traffic['retried']}").wait_for()

    filters = page.get_by_role("search", name="Filter traces")
    filters.get_by_label("Node").select_option("formatter")
    filters.get_by_label("Status").select_option("error")
    filters.get_by_role("button", name="Apply filter").click()
    page.wait_for_url(re.compile(r"node=formatter&status=error"))
    page.get_by_role("link", name=f"Trace {traffic['failed']}").wait_for()
    assert _trace_rows(page).count() == 1
    page.reload()  # the filter is the hash: a reload (or a shared link) shows the same view
    filters = page.get_by_role("search", name="Filter traces")
    assert filters.get_by_label("Node").input_value() == "formatter"
    assert filters.get_by_label("Status").input_value() == "error"
    page.get_by_role("link", name=f"Trace {traffic['failed']}").wait_for()
    assert _trace_rows(page).count() == 1
    _trace_rows(page).first.get_by_text("error", exact=True).wait_for()

    filters.get_by_label("Status").select_option("ok")
    filters.get_by_role("button", name="Apply filter").click()
    page.wait_for_url(re.compile(r"node=formatter&status=ok"))
    page.get_by_role("link", name=f"Trace {traffic['failed']}").wait_for(state="detached")
    rows = _trace_rows(page)
    rows.first.wait_for()
    for text in rows.all_inner_texts():
        assert "formatter" in text and "\tok\t" in text
    filters = page.get_by_role("search", name="Filter traces")
    filters.get_by_label("Status").select_option("refused")
    filters.get_by_role("button", name="Apply filter").click()
    page.get_by_text("match this filter").wait_for()  # an empty state that says what to do
    page.get_by_role("link", name="Clear").click()
    page.wait_for_url(re.compile(r"#/traces$"))
    _trace_rows(page).first.wait_for()
    screenshot(page, "traces")


def test_a_trace_shows_its_selection_attempts_tokens_and_exact_cost(
    page: Any, dashboard: Dashboard, traffic: dict[str, str]
) -> None:
    trace = dashboard.admin("GET", f"/traces/{traffic['retried']}").json()
    assert len(trace["attempts"]) == 2
    sign_in(page, dashboard)
    page.goto(f"{dashboard.base_url}/admin#/traces?node=writer")
    page.get_by_role("link", name=f"Trace {traffic['retried']}").click()
    page.wait_for_url(re.compile(rf"#/traces/{traffic['retried']}\?node=writer$"))
    page.get_by_role("heading", name="Trace", level=1).wait_for()

    selection = page.get_by_role("region", name="Selection")
    assert selection.get_by_text(trace["selected_model"], exact=True).first.is_visible()
    chain = selection.get_by_role("list", name="Fallback chain, in order")
    assert chain.get_by_role("listitem").all_inner_texts() == trace["fallback_chain"]
    for reason in trace["selection_reasons"]:
        assert selection.get_by_text(reason, exact=True).is_visible()
    selection.get_by_text(re.compile(r"Rejected models \(\d+\)")).click()
    rejected_model, why = next(iter(trace["rejected"].items()))
    row = selection.get_by_role("row").filter(has_text=rejected_model)
    assert "; ".join(why) in row.first.inner_text()

    attempts = page.get_by_role("region", name="Attempts")
    timeline = attempts.get_by_role("list", name=re.compile("Attempts in order"))
    items = timeline.get_by_role("listitem")
    assert items.count() == 2
    assert "503" in items.nth(0).inner_text() and "ok" in items.nth(1).inner_text()
    first, second = (attempts.locator(".timeline-bar").nth(i) for i in (0, 1))
    box_1, box_2 = first.bounding_box(), second.bounding_box()
    assert box_1 is not None and box_2 is not None and box_1["x"] <= box_2["x"]

    costs = page.get_by_role("region", name="Tokens and cost")
    assert costs.locator(".trace-cost-total").inner_text() == f"${trace['cost']['total']}"
    total_tokens = f"{trace['usage']['total_tokens']:,}"
    assert costs.get_by_text(total_tokens, exact=True).first.is_visible()
    screenshot(page, "trace")

    page.get_by_role("link", name="← Back to traces").click()
    page.wait_for_url(re.compile(r"#/traces\?node=writer$"))


def test_the_trace_id_search_opens_a_trace_or_says_it_is_not_kept(
    page: Any, dashboard: Dashboard, traffic: dict[str, str]
) -> None:
    sign_in(page, dashboard)
    page.goto(f"{dashboard.base_url}/admin#/traces")
    search = page.get_by_role("search", name="Find a trace by id")
    search.get_by_role("button", name="Open trace").click()  # empty: the page's own message
    search.get_by_text("Enter a trace id.").wait_for()
    assert page.evaluate("document.activeElement.name") == "trace_id"
    search.get_by_label("Trace id").fill(traffic["failed"])
    search.get_by_role("button", name="Open trace").click()
    page.get_by_role("region", name="Error").wait_for()
    assert page.get_by_role("region", name="Request").get_by_text("error", exact=True).is_visible()
    page.goto(f"{dashboard.base_url}/admin#/traces/no-such-trace")
    page.get_by_role("heading", name="Trace not found").wait_for()
    assert "no trace 'no-such-trace'" in page.locator("p[role=alert]").inner_text()
