"""The shell when the gateway misbehaves: a page whose first load fails says so and offers to try
again; a gateway that never answers is reported after the deadline instead of leaving the page
waiting (and refreshes do not pile up behind it); the failure's notice goes once refreshes work
again; a refresh never redraws under an open confirmation, and leaving the page answers it no."""

from __future__ import annotations

from typing import Any

from tests.admin_ui.conftest import Dashboard, sign_in

HEALTH = "**/api/admin/gateway/health*"


def test_a_page_that_did_not_load_offers_to_try_again(page: Any, dashboard: Dashboard) -> None:
    sign_in(page, dashboard)
    page.route("**/api/admin/gateway/policies*", lambda route: route.abort())
    page.get_by_role("link", name="Nodes", exact=True).click()
    page.locator(".notice.error").filter(has_text="Loading Nodes failed").wait_for()
    page.get_by_role("heading", name="Nodes", level=1).wait_for()
    assert page.locator("#live-status").inner_text() == "Nodes did not load"
    page.unroute("**/api/admin/gateway/policies*")
    page.get_by_role("button", name="Try again").click()
    page.get_by_role("region", name="Nodes and their models").wait_for()
    assert page.get_by_role("heading", name="Nodes", level=1).count() == 1
    assert not page.get_by_role("button", name="Try again").is_visible()


def test_a_gateway_that_never_answers_is_reported_and_refreshes_do_not_pile_up(
    page: Any, dashboard: Dashboard
) -> None:
    page.clock.install()
    sign_in(page, dashboard)
    page.get_by_role("region", name="Models").wait_for()
    held: list[Any] = []  # requests accepted and never answered (the context closes them)
    page.route(HEALTH, lambda route: held.append(route))
    for _ in range(4):  # four refresh periods (5 s) inside the 20 s deadline
        page.clock.fast_forward(5_000)
        page.wait_for_timeout(100)
    assert len(held) == 1, "a refresh started while the previous one was still waiting"
    assert not page.locator(".notice.error").filter(has_text="Refreshing failed").count()
    page.clock.fast_forward(16_000)
    notice = page.locator(".notice.error").filter(has_text="Refreshing failed")
    notice.get_by_text("the gateway did not answer within 20 s").wait_for()
    assert page.locator("#live-status").inner_text() == "Live updates failing"

    page.unroute(HEALTH)
    page.clock.fast_forward(5_000)
    page.locator("#live-status").get_by_text("Live · updated").wait_for()
    notice.wait_for(state="detached")  # the failure is over: its notice goes


def test_a_write_that_gets_no_answer_says_it_may_still_apply(
    page: Any, dashboard: Dashboard
) -> None:
    page.clock.install()
    sign_in(page, dashboard)
    page.get_by_role("link", name="Config", exact=True).click()
    page.get_by_role("region", name="Validation").get_by_text("files ok").wait_for()
    held: list[Any] = []
    page.route("**/api/admin/gateway/policies/reload*", lambda route: held.append(route))
    page.get_by_role("button", name="Reload").click()
    page.clock.fast_forward(21_000)  # a read would have given up by now; a write waits longer
    page.wait_for_timeout(100)
    assert len(held) == 1
    failed = page.locator(".notice.error").filter(has_text="Reloading failed")
    assert not failed.count()
    page.clock.fast_forward(40_000)
    failed.get_by_text("did not answer within 60 s; the change may still be applied").wait_for()


def test_a_refresh_waits_while_a_confirmation_is_open(page: Any, dashboard: Dashboard) -> None:
    assert dashboard.admin("PUT", "/budgets/node:writer", json={"day": "50"}).status_code == 200
    try:
        page.clock.install()
        sign_in(page, dashboard)
        page.get_by_role("link", name="Costs", exact=True).click()
        clear = page.get_by_role("button", name="Clear admin budget node:writer")
        clear.focus()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="Clear the admin budget node:writer?")
        dialog.wait_for()
        for _ in range(3):  # the budgets refresh every 5 s
            page.clock.fast_forward(5_000)
            page.wait_for_timeout(100)
        page.keyboard.press("Escape")
        dialog.wait_for(state="detached")
        # the control that opened the dialog is still there, and has the keyboard back
        assert page.evaluate("document.activeElement.getAttribute('aria-label')") == (
            "Clear admin budget node:writer"
        )
    finally:
        dashboard.admin("DELETE", "/budgets/node:writer")


def test_leaving_the_page_answers_an_open_confirmation_no(page: Any, dashboard: Dashboard) -> None:
    sign_in(page, dashboard)
    page.get_by_role("link", name="Models", exact=True).click()
    page.get_by_role("button", name="Disable gpt-4o-mini").click()
    dialog = page.get_by_role("dialog", name="Disable gpt-4o-mini?")
    dialog.wait_for()
    page.go_back()  # the Back key while the question is open
    page.get_by_role("heading", name="Overview", level=1).wait_for()
    dialog.wait_for(state="detached")
    models = dashboard.admin("GET", "/models").json()["models"]
    assert not next(m for m in models if m["model_id"] == "gpt-4o-mini")["disabled_by_admin"]


def test_a_degraded_gateways_messages_fit_a_phone(browser: Any, dashboard: Dashboard) -> None:
    dashboard.simulator.set_scenario(
        {"zero_latency": True, "models": {"*": {"faults": [{"kind": "error", "status": 503}]}}}
    )
    try:
        assert dashboard.chat("writer").status_code >= 500
    finally:
        dashboard.simulator.set_scenario({"zero_latency": True})
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    try:
        sign_in(phone, dashboard)
        banner = phone.locator(".health-banner")
        banner.get_by_text("503").wait_for()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert banner.evaluate("b => b.getBoundingClientRect().right") <= 390
        # the models' last errors keep a readable width (the table scrolls instead of squeezing
        # them into a column a word wide)
        cell = phone.get_by_role("region", name="Models").locator("td.prose").filter(has_text="503")
        assert cell.first.evaluate("c => c.getBoundingClientRect().width") >= 280
    finally:
        context.close()
