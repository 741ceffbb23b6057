"""The Rollout page on a gateway with the guide's rollback guard: flip the master switch and the
share in the page and see GET /flags and GET /flags/arm follow; per-node shares; a bad share
refused in the form; the emergency rollback only after its confirmation, then pinned and
unpinned; the guard's rules and evidence; and the audit log showing the change."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import create_engine, insert
from tests.admin_ui.conftest import Dashboard, screenshot, sign_in
from tests.admin_ui.ops_gateway import ops_dashboard, records_file

from llm_gateway.storage.schema import shadow_comparisons
from llm_gateway.storage.shadow_rows import ShadowComparison

KEYS = [f"user-{i}" for i in range(20)]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    with ops_dashboard(tmp_path_factory.mktemp("rollout")) as (served, _hooks):
        yield served


def flags(dashboard: Dashboard) -> dict[str, Any]:
    answer = dashboard.admin("GET", "/flags")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def arms(dashboard: Dashboard, node: str | None = None) -> set[str]:
    found = set()
    for key in KEYS:
        params = {"key": key, **({"node": node} if node else {})}
        answer = dashboard.admin("GET", "/flags/arm", params=params)
        assert answer.status_code == 200, answer.text
        found.add(answer.json()["arm"])
    return found


def writable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "guard"}


def open_rollout(page: Any, dashboard: Dashboard) -> None:
    sign_in(page, dashboard)
    page.get_by_role("navigation").get_by_role("link", name="Rollout").click()
    page.get_by_role("heading", name="Rollout", level=1).wait_for()


def reset(dashboard: Dashboard) -> None:
    body = {"v2_enabled": False, "v2_percentage": 0, "node_percentages": {}, "pinned": False}
    assert dashboard.admin("PUT", "/flags", json=body).status_code == 200


def test_flipping_the_share_in_the_page_moves_the_flags_and_the_arms(
    page: Any, dashboard: Dashboard
) -> None:
    assert arms(dashboard) == {"v1"}
    open_rollout(page, dashboard)
    switch = page.get_by_role("region", name="Switch and shares")
    switch.get_by_label("Gateway v2 enabled").check()
    switch.get_by_label("Share of traffic on v2 (%)").fill("100")
    switch.get_by_label("Reason (kept in the audit log)").fill("canary from the dashboard")
    switch.get_by_role("button", name="Apply changes").click()
    switch.get_by_role("status").get_by_text("applied by 1 of 1 replica").wait_for()
    live = flags(dashboard)
    assert (live["v2_enabled"], live["v2_percentage"]) == (True, 100)
    assert live["source"]["v2_percentage"] == "admin"
    assert arms(dashboard) == {"v2"}
    status = page.get_by_role("region", name="Flags in force")
    status.get_by_text("100 %").wait_for()
    assert status.get_by_text("admin", exact=True).count() >= 2  # the switch and the share
    assert "environment default: 0" in switch.inner_text()

    # the page's own arm check agrees with the API
    arm = page.get_by_role("region", name="Which arm a key takes")
    arm.get_by_label("Key (user, session or trace id)").fill("user-3")
    arm.get_by_role("button", name="Check arm").click()
    arm.get_by_role("status").get_by_text("100 % on v2 applies").wait_for()
    assert arm.get_by_role("status").locator("strong").inner_text() == "v2"

    # a node of its own keeps writer on v1 while the rest is on v2
    nodes = page.get_by_role("region", name="Per-node shares")
    nodes.get_by_label("Share on v2 for writer (%)").fill("0")
    nodes.get_by_role("button", name="Apply per-node shares").click()
    nodes.get_by_role("status").get_by_text("Per-node shares now: writer 0 %").wait_for()
    assert flags(dashboard)["node_percentages"] == {"writer": 0}
    assert arms(dashboard, "writer") == {"v1"}
    assert arms(dashboard, "evaluator") == {"v2"}
    screenshot(page, "rollout")

    # and back to 0 %: every key on v1 again
    switch = page.get_by_role("region", name="Switch and shares")
    switch.get_by_label("Share of traffic on v2 (%)").fill("0")
    switch.get_by_role("button", name="Apply changes").click()
    switch.get_by_role("status").get_by_text("v2_percentage 100 → 0").wait_for()
    assert flags(dashboard)["v2_percentage"] == 0
    assert arms(dashboard) == {"v1"}

    # the audit log has the change, with its before and after
    page.get_by_role("navigation").get_by_role("link", name="Audit log").click()
    page.get_by_label("Action").fill("flags.set")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**#/audit?action=flags.set")
    rows = page.get_by_role("row").filter(has_text="canary from the dashboard")
    rows.get_by_text("v2_percentage:").wait_for()
    assert "v2_percentage: 0 → 100" in rows.inner_text()
    screenshot(page, "audit")
    reset(dashboard)


def test_a_share_outside_0_to_100_is_refused_in_the_form(page: Any, dashboard: Dashboard) -> None:
    before = writable(flags(dashboard))
    open_rollout(page, dashboard)
    switch = page.get_by_role("region", name="Switch and shares")
    share = switch.get_by_label("Share of traffic on v2 (%)")
    share.fill("150")
    switch.get_by_role("button", name="Apply changes").click()
    switch.get_by_text("a whole number from 0 to 100").wait_for()
    assert share.get_attribute("aria-invalid") == "true"
    nodes = page.get_by_role("region", name="Per-node shares")
    writer = nodes.get_by_label("Share on v2 for writer (%)")
    writer.fill("101")
    nodes.get_by_role("button", name="Apply per-node shares").click()
    nodes.get_by_role("alert").get_by_text("Share on v2 for writer: a whole number").wait_for()
    assert writer.get_attribute("aria-invalid") == "true"
    assert writable(flags(dashboard)) == before


def test_the_emergency_rollback_needs_its_confirmation_then_pins(
    page: Any, dashboard: Dashboard
) -> None:
    body = {"v2_enabled": True, "v2_percentage": 50, "shadow_percentage": 5}
    assert dashboard.admin("PUT", "/flags", json=body).status_code == 200
    before = writable(flags(dashboard))
    open_rollout(page, dashboard)
    guard = page.get_by_role("region", name="Rollback guard")
    guard.get_by_text("watching").wait_for()
    guard.get_by_text("v2 error rate > v1 error rate + 2 points").wait_for()
    assert guard.get_by_role("row").filter(has_text="v1").count() >= 1
    page.get_by_role("region", name="Shadow comparison").get_by_text("5 % of v1 calls").wait_for()

    zone = page.get_by_role("region", name="Emergency rollback")
    zone.get_by_role("button", name="Emergency rollback…").click()
    dialog = page.get_by_role("dialog", name="Roll back to v1 everywhere?")
    dialog.get_by_role("button", name="Cancel").click()
    page.get_by_role("region", name="Emergency rollback").get_by_text("Cancelled").wait_for()
    assert writable(flags(dashboard)) == before
    # from the keyboard: Escape cancels too, and the focus comes back to the button
    assert page.evaluate("document.activeElement.textContent") == "Emergency rollback…"
    page.keyboard.press("Enter")
    dialog.wait_for()
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    assert writable(flags(dashboard)) == before

    zone = page.get_by_role("region", name="Emergency rollback")
    zone.get_by_label("Reason (kept in the audit log)").fill("v2 misbehaving")
    zone.get_by_role("button", name="Emergency rollback…").click()
    dialog = page.get_by_role("dialog", name="Roll back to v1 everywhere?")
    dialog.get_by_role("button", name="Roll back now").click()
    zone = page.get_by_role("region", name="Emergency rollback")
    zone.get_by_text("applied by 1 of 1").wait_for()
    live = flags(dashboard)
    assert (live["v2_enabled"], live["v2_percentage"], live["pinned"]) == (False, 0, True)
    assert live["shadow_percentage"] == 0 and live["guard"]["state"] == "pinned"
    assert arms(dashboard) == {"v1"}
    audit = dashboard.admin("GET", "/audit", params={"action": "flags.rollback"}).json()
    assert audit["entries"][0]["detail"] == "v2 misbehaving"

    banner = page.get_by_role("region", name="Pinned")
    banner.get_by_text("The flags are pinned").wait_for()
    page.get_by_role("region", name="Rollback guard").get_by_text("pinned").first.wait_for()
    screenshot(page, "rollout-pinned")
    banner.get_by_role("button", name="Unpin the flags").click()
    page.get_by_role("region", name="Switch and shares").get_by_text("Unpinned").wait_for()
    assert flags(dashboard)["pinned"] is False
    assert page.get_by_role("region", name="Pinned").count() == 0
    reset(dashboard)


def test_the_shadow_comparison_so_far(page: Any, dashboard: Dashboard) -> None:
    """Comparison rows as the shadow runner writes them (two writer pairs, one where v2 failed),
    put in the served gateway's record store; the page summarises them per node."""
    now = datetime.now(UTC)
    rows = [
        ShadowComparison(
            id=uuid.uuid4().hex,
            at=now - timedelta(minutes=i),
            node="writer",
            purpose="writing",
            v1_model="gpt-4o-mini",
            v2_model="gemini-2.5-pro",
            v1_ok=True,
            v2_ok=ok,
            v1_trace_id=f"v1-trace-{i}",
            v2_trace_id=f"v2-trace-{i}",
            v1_latency_ms=800.0,
            v2_latency_ms=600.0 if ok else 30.0,
            v1_cost_usd=Decimal("0.0012"),
            v2_cost_usd=Decimal("0.0008") if ok else None,
            v1_output_chars=900,
            v2_output_chars=850 if ok else None,
            similarity=0.42 if ok else None,
            v2_error=None if ok else "upstream_error: HTTP 503",
        ).as_row()
        for i, ok in enumerate([True, False])
    ]
    engine = create_engine(f"sqlite:///{records_file(dashboard)}")
    with engine.begin() as connection:
        connection.execute(insert(shadow_comparisons), rows)
    engine.dispose()
    open_rollout(page, dashboard)
    shadow = page.get_by_role("region", name="Shadow comparison")
    summary = shadow.get_by_role("row").filter(has_text="writer").first
    summary.get_by_text("0.42").wait_for()
    assert summary.get_by_role("cell").nth(1).inner_text() == "2"  # comparisons
    failed = shadow.get_by_role("row").filter(has_text="upstream_error: HTTP 503")
    assert failed.get_by_role("link", name="v2").get_attribute("href") == "#/traces/v2-trace-1"
    screenshot(page, "rollout-shadow")
