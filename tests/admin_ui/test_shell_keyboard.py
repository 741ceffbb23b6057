"""The shell from the keyboard: the skip link moves focus without leaving the page, the phone
menu folds on Escape, an address the router cannot decode still draws a page, a table that
scrolls sideways on a phone can be reached and scrolled, the focus ring has a dark edge for
white cards, and the sign-in error is the token field's description."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
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


REPLICAS = "section[aria-label^='Replicas'] .table-wrap"


def test_a_table_that_scrolls_sideways_can_be_reached_from_the_keyboard(
    browser: Any, dashboard: Dashboard
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    try:
        sign_in(phone, dashboard)
        wrap = phone.locator(REPLICAS)
        expect(wrap).to_have_attribute("tabindex", "0")
        assert phone.evaluate(
            f"(w => w.scrollWidth > w.clientWidth)(document.querySelector({REPLICAS!r}))"
        )
        expect(wrap).to_have_accessible_name("Replicas (1) (scrolls sideways)")
        wrap.focus()
        phone.keyboard.press("ArrowRight")
        phone.wait_for_function(f"() => document.querySelector({REPLICAS!r}).scrollLeft > 0")
        phone.set_viewport_size({"width": 1280, "height": 900})  # it fits: out of the Tab order
        expect(wrap).not_to_have_attribute("tabindex", "0")
    finally:
        context.close()


def test_the_focus_ring_has_a_dark_edge(page: Any, dashboard: Dashboard) -> None:
    sign_in(page, dashboard)
    page.get_by_role("link", name="Nodes", exact=True).click()
    button = page.get_by_role("button", name="Override writer")
    button.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # from the keyboard, so :focus-visible applies
    style = button.evaluate(
        "b => [getComputedStyle(b).outlineColor, getComputedStyle(b).boxShadow]"
    )
    assert style[0] == "rgb(255, 191, 71)"
    assert "rgb(26, 29, 33)" in style[1]


def test_the_sign_in_error_describes_the_token_field(page: Any, dashboard: Dashboard) -> None:
    page.goto(f"{dashboard.base_url}/admin")
    token = page.get_by_label("Admin token")
    assert token.get_attribute("name") is None  # a form posted without script carries no token
    token.fill("not-the-token")
    page.keyboard.press("Enter")
    expect(token).to_have_accessible_description("That token is not the gateway's admin token.")
    expect(token).to_have_attribute("aria-invalid", "true")
