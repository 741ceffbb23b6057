"""The Config page: break a file of the gateway's config dir (a model with an unknown capability,
then a YAML syntax error), validate and reload in the page, see the file and the key path (or
line) of the error and that the last good configuration stays live and answers; restore the
file, reload, and see every replica's outcome and the reload in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.admin_ui.conftest import Dashboard, screenshot, sign_in

FILES = ("model_policies", "node_requirements")


@pytest.fixture
def config_files(dashboard: Dashboard) -> Iterator[dict[str, Path]]:
    """The served gateway's two config files, restored (and reloaded) after the test."""
    paths = {name: dashboard.config_dir / f"{name}.yaml" for name in FILES}
    good = {name: path.read_text() for name, path in paths.items()}
    yield paths
    for name, path in paths.items():
        path.write_text(good[name])
    assert dashboard.admin("POST", "/policies/reload").status_code == 200


def live_version(dashboard: Dashboard) -> str:
    return str(dashboard.admin("GET", "/health").json()["config_version"])


def open_config(page: Any, dashboard: Dashboard) -> None:
    sign_in(page, dashboard)
    page.get_by_role("navigation").get_by_role("link", name="Config").click()
    page.get_by_role("heading", name="Config", level=1).wait_for()


def test_a_broken_file_is_shown_by_file_and_key_path_and_the_last_good_config_stays(
    page: Any, dashboard: Dashboard, config_files: dict[str, Path]
) -> None:
    policies = config_files["model_policies"]
    good = policies.read_text()
    before = live_version(dashboard)
    open_config(page, dashboard)
    validation = page.get_by_role("region", name="Validation")
    validation.get_by_text("files ok").wait_for()

    policies.write_text(good.replace("streaming: true", "streeming: true", 1))
    issue = dashboard.admin("GET", "/validate").json()["files"]["located"][0]
    assert issue["path"].endswith(".capabilities.streeming")
    page.get_by_role("button", name="Validate").click()
    row = validation.get_by_role("row").filter(has_text=issue["path"])
    row.get_by_text("model_policies.yaml").wait_for()
    assert "unknown value 'streeming'" in row.inner_text()

    page.get_by_role("button", name="Reload").click()
    reload = page.get_by_role("region", name="Last reload")
    reload.get_by_text("not reloaded", exact=True).wait_for()
    reload.get_by_text(f"The previous configuration stays live: version {before}").wait_for()
    refused = reload.get_by_role("row").filter(has_text=issue["path"])
    assert "model_policies.yaml" in refused.inner_text()
    assert live_version(dashboard) == before
    assert dashboard.chat("writer").status_code == 200  # the last good config still answers
    screenshot(page, "config-error")

    policies.write_text(good + "\n  broken: [unclosed\n")
    page.get_by_role("button", name="Validate").click()
    syntax = validation.get_by_role("row").filter(has_text="invalid YAML")
    syntax.get_by_text("model_policies.yaml").wait_for()
    assert "line " in syntax.inner_text() and "column " in syntax.inner_text()
    page.get_by_role("button", name="Reload").click()
    reload.get_by_role("row").filter(has_text="invalid YAML").wait_for()
    assert dashboard.chat("writer").status_code == 200

    policies.write_text(good)
    page.get_by_role("button", name="Reload").click()
    reload.get_by_text("reloaded", exact=True).first.wait_for()
    replica = reload.get_by_role("row").filter(has_text=before)
    assert "reloaded" in replica.inner_text()
    validation.get_by_text("files ok").wait_for()
    assert dashboard.chat("writer").status_code == 200
    screenshot(page, "config")

    page.get_by_role("navigation").get_by_role("link", name="Audit log").click()
    page.get_by_label("Action").fill("config.reload")
    page.get_by_role("button", name="Filter").click()
    entry = page.get_by_role("row").filter(has_text="config.reload").first
    entry.get_by_text(str(dashboard.config_dir)).wait_for()


def test_a_reload_that_would_remove_nodes_asks_before_forcing(
    page: Any, dashboard: Dashboard, config_files: dict[str, Path]
) -> None:
    before = live_version(dashboard)
    nodes = config_files["node_requirements"]
    only_writer = nodes.read_text().split("\n  evaluator:")[0]  # every other node dropped
    nodes.write_text(only_writer)
    open_config(page, dashboard)
    page.get_by_role("button", name="Reload").click()
    reload = page.get_by_role("region", name="Last reload")
    reload.get_by_text("not reloaded", exact=True).wait_for()
    reload.get_by_text("evaluator").first.wait_for()  # named among what would go
    reload.get_by_role("button", name="Reload anyway…").click()
    dialog = page.get_by_role("dialog", name="Reload a configuration that removes things?")
    dialog.get_by_role("button", name="Cancel").click()
    assert dialog.count() == 0
    assert live_version(dashboard) == before
    assert dashboard.chat("evaluator").status_code == 200


def test_a_refused_reload_says_when_the_live_state_cannot_be_read(
    page: Any, dashboard: Dashboard, config_files: dict[str, Path]
) -> None:
    policies = config_files["model_policies"]
    open_config(page, dashboard)
    page.get_by_role("region", name="Validation").get_by_text("files ok").wait_for()
    policies.write_text(policies.read_text().replace("streaming: true", "streeming: true", 1))
    page.route("**/api/admin/gateway/validate*", lambda route: route.abort())
    page.get_by_role("button", name="Reload").click()
    reload = page.get_by_role("region", name="Last reload")
    reload.get_by_text("not reloaded", exact=True).wait_for()
    notice = page.locator(".notice.error").filter(has_text="Reading the live state after the")
    notice.get_by_text("the gateway did not answer").wait_for()
