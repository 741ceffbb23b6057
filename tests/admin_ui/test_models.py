"""The Models page in a real browser: the catalogue with capabilities, tier, context, prices and
health; disabling a model (after a confirmation) takes it out of the next request's selection and
enabling it brings it back; the detail view at #/models/<id>.

Each test leaves every model enabled (``all_enabled``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.admin_ui.conftest import Dashboard, screenshot, sign_in


@pytest.fixture(autouse=True)
def all_enabled(dashboard: Dashboard) -> Iterator[None]:
    yield
    for model in dashboard.admin("GET", "/models").json()["models"]:
        if model["disabled_by_admin"]:
            answer = dashboard.admin("PUT", f"/models/{model['model_id']}", json={"enabled": True})
            assert answer.status_code == 200


def open_models(page: Any, dashboard: Dashboard) -> Any:
    sign_in(page, dashboard)
    page.get_by_role("link", name="Models", exact=True).click()
    page.get_by_role("heading", name="Models", level=1).wait_for()
    return page.get_by_role("region", name="Catalogue")


def observed_models(dashboard: Dashboard, model_id: str) -> list[dict[str, Any]]:
    """GET /models once selection has folded `model_id`'s outcomes in (at most every 5 s)."""
    deadline = time.monotonic() + 10
    while True:
        models = dashboard.admin("GET", "/models").json()["models"]
        if next(m for m in models if m["model_id"] == model_id)["observed"] is not None:
            return list(models)
        assert time.monotonic() < deadline, f"{model_id} never observed"
        time.sleep(0.25)


def confirm_disable(page: Any, model_id: str) -> None:
    dialog = page.get_by_role("dialog", name=f"Disable {model_id}?")
    dialog.get_by_role("button", name="Disable").click()


def model_row(catalogue: Any, model_id: str) -> Any:
    return catalogue.locator(f'tr[data-model="{model_id}"]')


def test_the_catalogue_shows_capabilities_tier_context_prices_and_health(
    page: Any, dashboard: Dashboard
) -> None:
    answered_by = {dashboard.chat("formatter").json()["model"] for _ in range(6)}
    assert len(answered_by) == 1
    answered = answered_by.pop()
    models = observed_models(dashboard, answered)
    served = dashboard.admin("GET", "/policies").json()["effective"]["formatter"]
    catalogue = open_models(page, dashboard)

    assert catalogue.locator("tbody tr").count() == len(models)
    mini = model_row(catalogue, "gpt-4o-mini")
    text = mini.inner_text()
    for shown in ("LOW", "128,000", "$0.00015", "$0.0006", "json_mode", "enabled", "closed"):
        assert shown in text, shown
    samples = next(m for m in models if m["model_id"] == answered)["observed"]["samples"]
    assert samples >= 5 and f"{samples} samples" in model_row(catalogue, answered).inner_text()
    assert "formatter" in model_row(catalogue, served).inner_text()

    catalogue.get_by_label("Filter models", exact=True).fill("web_search")
    searchers = [m for m in models if "web_search" in m["capabilities"]]
    assert catalogue.locator("tbody tr").count() == len(searchers)
    catalogue.get_by_label("Filter models", exact=True).fill("")
    screenshot(page, "models")


def test_a_disabled_model_is_not_chosen_by_the_next_request_until_enabled(
    page: Any, dashboard: Dashboard
) -> None:
    model = dashboard.admin("GET", "/policies").json()["effective"]["writer"]
    assert dashboard.chat("writer").json()["model"] == model
    catalogue = open_models(page, dashboard)

    catalogue.get_by_label("Reason for a change", exact=True).fill("dashboard test")
    model_row(catalogue, model).get_by_role("button", name=f"Disable {model}").click()
    dialog = page.get_by_role("dialog", name=f"Disable {model}?")
    assert "writer" in dialog.inner_text()
    dialog.get_by_role("button", name="Cancel").click()
    assert dashboard.chat("writer").json()["model"] == model  # cancelled: nothing changed

    model_row(catalogue, model).get_by_role("button", name=f"Disable {model}").click()
    confirm_disable(page, model)
    catalogue.get_by_text(f"Last change: {model} disabled — applied by 1 of 1 replica").wait_for()
    row = model_row(catalogue, model)
    row.get_by_text("disabled", exact=True).wait_for()
    row.get_by_role("button", name=f"Enable {model}").wait_for()
    answer = dashboard.chat("writer")
    assert answer.status_code == 200 and answer.json()["model"] != model
    audit = dashboard.admin("GET", "/audit", params={"target": model, "limit": 1}).json()
    assert audit["entries"][0]["action"] == "model.disable"
    assert audit["entries"][0]["detail"] == "dashboard test"
    screenshot(page, "models-disabled")

    row.get_by_role("button", name=f"Enable {model}").click()
    catalogue.get_by_text(f"Last change: {model} enabled — applied by 1 of 1 replica").wait_for()
    model_row(catalogue, model).get_by_text("enabled", exact=True).wait_for()
    assert dashboard.chat("writer").json()["model"] == model


def test_the_detail_view_shows_one_model_and_switches_it(page: Any, dashboard: Dashboard) -> None:
    model = dashboard.admin("GET", "/policies").json()["effective"]["writer"]
    assert dashboard.chat("writer").status_code == 200
    catalogue = open_models(page, dashboard)

    catalogue.get_by_role("link", name=model, exact=True).click()
    page.get_by_role("heading", name=model, level=1).wait_for()
    assert page.url.endswith(f"#/models/{model}")
    entry = page.get_by_role("region", name="Catalogue entry")
    entry.get_by_text("Provider model").wait_for()
    policy = next(
        m for m in dashboard.admin("GET", "/models").json()["models"] if m["model_id"] == model
    )
    assert policy["provider_model_id"] in entry.inner_text()
    fallbacks = entry.locator("dd").filter(has=page.get_by_role("link")).last
    assert fallbacks.get_by_role("link").all_inner_texts() == policy["fallback_models"]
    nodes = page.get_by_role("region", name="Nodes")
    nodes.get_by_role("row").filter(has_text="writer").get_by_text("served now").wait_for()
    traces = page.get_by_role("region", name="Recent traces (24 h)")
    traces.get_by_role("row").filter(has_text="writer").first.wait_for()
    metrics = dashboard.admin("GET", "/metrics", params={"hours": 1, "model": model}).json()
    traffic = page.get_by_role("region", name="Traffic")
    assert traffic.locator(".stat-value").first.inner_text() == str(metrics["request_count"])
    screenshot(page, "model-detail")

    switch = page.get_by_role("region", name="Disable")
    switch.get_by_role("button", name="Disable model").click()
    confirm_disable(page, model)
    enable = page.get_by_role("region", name="Enable").get_by_role("button", name="Enable model")
    enable.wait_for()
    page.get_by_role("region", name="Enable").get_by_text(
        f"Last change: {model} disabled — applied by 1 of 1 replica"
    ).wait_for()
    assert dashboard.chat("writer").json()["model"] != model
    enable.click()
    switch.get_by_role("button", name="Disable model").wait_for()
    assert dashboard.chat("writer").json()["model"] == model


def test_an_unknown_model_says_what_to_do(page: Any, dashboard: Dashboard) -> None:
    sign_in(page, dashboard)
    page.goto(f"{dashboard.base_url}/admin#/models/gpt-9")
    page.get_by_text("The catalogue has no model 'gpt-9'").wait_for()
    assert page.get_by_role("link", name="All models").is_visible()


def test_the_models_page_works_on_a_phone(browser: Any, dashboard: Dashboard) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    try:
        sign_in(phone, dashboard)
        for hash_, heading in (("#/models", "Models"), ("#/models/gpt-4o-mini", "gpt-4o-mini")):
            phone.goto(f"{dashboard.base_url}/admin{hash_}")
            phone.get_by_role("heading", name=heading, level=1).wait_for()
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (hash_, width)
        screenshot(phone, "model-detail-phone")
    finally:
        context.close()
