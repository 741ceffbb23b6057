"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright's Python
API with that executable (never a browser download), against a gateway served by uvicorn on
127.0.0.1 with a SQLite record store and the HTTP simulator as its OpenRouter.

Screenshots of every page go to ``artifacts/screenshots/`` (gitignored); a few are committed
under ``docs/screenshots/`` for the README.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.http.conftest import ADMIN_TOKEN, AUTH, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.gateway import set_llm_gateway
from llm_gateway.routes.deps import reset_process_services
from llm_gateway.simulator.testing import SimulatorHandle, run_simulator

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"


def chromium_executable() -> str | None:
    for candidate in (os.environ.get("GATEWAY_TEST_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


@dataclass
class Dashboard:
    base_url: str
    simulator: SimulatorHandle
    config_dir: Path

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{self.base_url}/api/admin/gateway{path}"
        return httpx.request(method, url, headers=AUTH, timeout=10, **kwargs)

    def chat(self, node: str, content: str = "hello", **kwargs: Any) -> httpx.Response:
        body = {"messages": [{"role": "user", "content": content}], **kwargs}
        return httpx.post(f"{self.base_url}/api/chat/{node}", json=body, timeout=10)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    tmp = tmp_path_factory.mktemp("dashboard")
    config_dir = tmp / "config"
    shutil.copytree(ROOT / "config", config_dir)
    with run_simulator({"zero_latency": True}) as simulator:
        settings = make_settings(
            tmp,
            GATEWAY_SIMULATE=False,
            OPENROUTER_API_KEY="sk-or-dashboard-0000",
            OPENROUTER_BASE_URL=simulator.base_url,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'records.sqlite3'}",
            GATEWAY_CONFIG_DIR=config_dir,
        )
        with serve(create_app(settings)) as (base_url, _server):
            yield Dashboard(base_url, simulator, config_dir)
    set_llm_gateway(None)
    reset_process_services()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_executable()
    if executable is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, dashboard: Dashboard) -> Iterator[Any]:
    """A fresh browser context (empty session storage); fails the test on any script error or
    Content-Security-Policy violation the page reports."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error" and "Failed to load resource" not in message.text
            else None
        ),
    )
    page.set_default_timeout(10_000)
    yield page
    context.close()
    assert not problems, problems


def sign_in(page: Any, dashboard: Dashboard, token: str = ADMIN_TOKEN) -> None:
    page.goto(f"{dashboard.base_url}/admin")
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Overview", level=1).wait_for()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
