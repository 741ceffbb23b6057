"""The dashboard shell: served by the gateway with a strict CSP, signs in with the admin token
(session storage, never the URL), shows health, refuses a wrong token, signs out."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from tests.admin_ui.conftest import ROOT, Dashboard, screenshot, sign_in
from tests.http.conftest import ADMIN_TOKEN


def test_every_asset_comes_from_the_gateway_under_a_strict_csp(dashboard: Dashboard) -> None:
    page = httpx.get(f"{dashboard.base_url}/admin")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert "http://" not in page.text.replace("http://www.w3.org", "")
    assert "https://" not in page.text
    script = httpx.get(f"{dashboard.base_url}/admin/assets/js/app.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    again = httpx.get(
        f"{dashboard.base_url}/admin/assets/js/app.js",
        headers={"If-None-Match": script.headers["etag"]},
    )
    assert again.status_code == 304


def test_no_dashboard_file_names_another_origin() -> None:
    """Offline: no script, style or icon loads anything from elsewhere (the SVG namespace is a
    name, not a request)."""
    static = ROOT / "src" / "llm_gateway" / "admin_ui" / "static"
    files = [p for p in static.rglob("*") if p.is_file()]
    assert len(files) > 10
    for path in files:
        text = path.read_text().replace("http://www.w3.org/2000/svg", "")
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", text), path
        assert "@import" not in text and "url(" not in text, path


def test_no_file_outside_the_dashboard_is_served(dashboard: Dashboard) -> None:
    for path in ("../router.py", "..%2frouter.py", "%2e%2e/__init__.py", "js/missing.js", ""):
        answer = httpx.get(f"{dashboard.base_url}/admin/assets/{path}")
        assert answer.status_code == 404, path
        assert "error" in answer.json()


def test_sign_in_shows_health_and_keeps_the_token_out_of_the_url(
    page: Any, dashboard: Dashboard
) -> None:
    for _ in range(3):
        assert dashboard.chat("writer").status_code == 200
    sign_in(page, dashboard)
    assert ADMIN_TOKEN not in page.url
    assert page.evaluate("sessionStorage.getItem('llm-gateway.admin-token')") == ADMIN_TOKEN
    assert page.evaluate("localStorage.length") == 0
    banner = page.locator(".health-banner")
    banner.get_by_text("healthy", exact=True).wait_for()
    models = page.get_by_role("region", name="Models")
    row = models.get_by_role("row").filter(has_text="gemini-2.5-pro")
    row.get_by_text("closed").wait_for()
    assert page.get_by_text("Requests / min").is_visible()
    screenshot(page, "overview")
    page.reload()  # the session survives a reload of the tab
    page.get_by_role("heading", name="Overview", level=1).wait_for()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Admin token").wait_for()
    assert page.evaluate("sessionStorage.length") == 0


def test_a_wrong_token_is_refused_with_a_message(page: Any, dashboard: Dashboard) -> None:
    page.goto(f"{dashboard.base_url}/admin")
    page.get_by_label("Admin token").fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("That token is not the gateway's admin token.").wait_for()
    assert page.evaluate("sessionStorage.length") == 0


def test_the_overview_works_on_a_phone(browser: Any, dashboard: Dashboard) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    try:
        sign_in(phone, dashboard)
        menu = phone.get_by_role("button", name="Menu")
        assert menu.is_visible()
        assert not phone.get_by_role("link", name="Overview", exact=True).is_visible()
        menu.click()
        assert phone.get_by_role("link", name="Overview", exact=True).is_visible()
        # nothing wider than the screen except inside scrollable tables
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        screenshot(phone, "overview-phone")
    finally:
        context.close()


def test_small_amounts_are_written_out(page: Any, dashboard: Dashboard) -> None:
    """A cost per request of a cheap model is below a millionth of a dollar: never "$1e-7"."""
    sign_in(page, dashboard)
    shown = page.evaluate(
        """async () => {
          const { usd } = await import("/admin/assets/js/format.js");
          return ["1e-7", "0.0000003", "0.123456789", "0.00015", "12.5", "0"].map(usd);
        }"""
    )
    assert shown == ["$0.0000001", "$0.0000003", "$0.123457", "$0.00015", "$12.50", "$0"]


def test_a_failure_a_retry_rescued_shows_in_the_models_attempt_error_rate(
    page: Any, dashboard: Dashboard
) -> None:
    for _ in range(5):  # health shows a model's smoothed error rate from 5 attempts on
        assert dashboard.chat("writer").status_code == 200
    flaky = {
        "zero_latency": True,
        "models": {"*": {"faults": [{"kind": "error", "status": 503, "times": 1}]}},
    }
    dashboard.simulator.set_scenario(flaky)
    try:
        answer = dashboard.chat("writer")
        assert answer.status_code == 200  # the retry answered
    finally:
        dashboard.simulator.set_scenario({"zero_latency": True})
    model = answer.json()["model"]
    sign_in(page, dashboard)
    models = page.get_by_role("region", name="Models")
    models.get_by_role("columnheader", name="Attempt error rate").wait_for()
    headers = models.get_by_role("columnheader").all_inner_texts()
    row = models.get_by_role("row").filter(has=page.get_by_role("link", name=model, exact=True))
    deadline = time.monotonic() + 15  # health publishes its statistics within seconds
    rate = "—"
    while time.monotonic() < deadline:
        rate = row.get_by_role("cell").all_inner_texts()[headers.index("Attempt error rate")]
        if rate not in ("0.0 %", "—"):
            break
        page.wait_for_timeout(500)
    assert rate not in ("0.0 %", "—"), (model, rate)
    ledger_rate = dashboard.admin("GET", "/metrics", params={"hours": 1, "model": model}).json()
    assert ledger_rate["error_rate"] == 0.0  # by requests answered, the rescued one was a success
