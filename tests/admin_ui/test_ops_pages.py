"""The Costs, Rollout, Alerts, Audit log and Config pages on a fresh gateway with neither an
alerts file nor a rollback guard: each says what to do instead of showing nothing, and each fits a
phone's width (nothing scrolls sideways but the tables)."""

from __future__ import annotations

from typing import Any

from tests.admin_ui.conftest import Dashboard, screenshot, sign_in

EMPTY = {
    "costs": "nothing to compute savings from yet. It fills in once requests are answered.",
    "rollout": "The rollback guard is off. To have it step v2 down",
    "alerts": "No alert rules are loaded. Put alerts.yaml beside model_policies.yaml",
    "audit": "No admin change yet.",
    "config": "Not reloaded from this page yet.",
}
TITLES = {
    "costs": "Costs",
    "rollout": "Rollout",
    "alerts": "Alerts",
    "audit": "Audit log",
    "config": "Config",
}


def test_empty_states_say_what_to_do(page: Any, dashboard: Dashboard) -> None:
    sign_in(page, dashboard)
    for name, text in EMPTY.items():
        page.get_by_role("navigation").get_by_role("link", name=TITLES[name]).click()
        page.get_by_role("heading", name=TITLES[name], level=1).wait_for()
        page.get_by_text(text).wait_for()
        assert page.locator("nav a[aria-current='page']").inner_text() == TITLES[name]


def test_the_operations_pages_fit_a_phone(browser: Any, dashboard: Dashboard) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    errors: list[str] = []
    phone.on("pageerror", lambda error: errors.append(str(error)))
    try:
        sign_in(phone, dashboard)
        for name, title in TITLES.items():
            phone.goto(f"{dashboard.base_url}/admin#/{name}")
            phone.get_by_role("heading", name=title, level=1).wait_for()
            phone.get_by_text(EMPTY[name]).wait_for()
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (name, width)
            screenshot(phone, f"{name}-phone")
    finally:
        context.close()
    assert not errors, errors
