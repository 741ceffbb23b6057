"""The shell from the keyboard: the skip link moves focus without leaving the page, the phone
menu folds on Escape, and an address the router cannot decode still draws a page."""

from __future__ import annotations

from typing import Any

from tests.admin_ui.conftest import Dashboard, sign_in

FOCUSED = "document.activeElement && (document.activeElement.id || document.activeElement.tagName)"


def test_the_skip_link_moves_focus_to_the_page_and_keeps_it(
    page: Any, dashboard: Dashboard
) -> None:
    sign_in(page, dashboard)
    page.get_by_role("link", name="Nodes", exact=True).click()
    page.get_by_role("heading", name="Nodes", level=1).wait_for()
    skip = page.get_by_role("link", name="Skip to content")
    skip.focus()
    page.keyboard.press("Enter")
    assert page.evaluate(FOCUSED) == "main"
    assert page.url.endswith("#/nodes")
    page.wait_for_timeout(300)  # a route change would have redrawn by now
    assert page.get_by_role("heading", name="Nodes", level=1).is_visible()
    assert not page.get_by_text("No such page").is_visible()
    page.keyboard.press("Tab")  # the next stop is inside the page, not the navigation
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")


def test_escape_folds_the_phone_menu(browser: Any, dashboard: Dashboard) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    try:
        sign_in(phone, dashboard)
        menu = phone.get_by_role("button", name="Menu")
        menu.click()
        overview = phone.get_by_role("link", name="Overview", exact=True)
        assert overview.is_visible()
        phone.keyboard.press("Tab")
        phone.keyboard.press("Escape")
        assert menu.get_attribute("aria-expanded") == "false"
        assert not overview.is_visible()
        assert phone.evaluate(FOCUSED) == "nav-toggle"
    finally:
        context.close()


def test_a_malformed_address_still_draws_a_page(page: Any, dashboard: Dashboard) -> None:
    sign_in(page, dashboard)
    page.goto(f"{dashboard.base_url}/admin#/traces/%E0%A4%A")
    page.get_by_role("heading", name="Trace not found").wait_for()
