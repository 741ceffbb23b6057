"""A gateway served with alerts: the simulator upstream, a record store, and every delivery
target pointed at loopback receivers started by the test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
from tests.alerts.receivers import HttpReceiver, smtp_server
from tests.http.conftest import AUTH, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.simulator.testing import SimulatorHandle

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"
MESSAGES = [{"role": "user", "content": "hello"}]
WEBHOOK_SECRET = "whsec-alerts-test-0123456789"
ROUTING_KEY = "pd-routing-key-0123456789abcdef"
SLACK_PATH = "/slack/T0ABCDEF12/B0ABCDEF34/slacktoken0123456789"  # Slack's shape: ids, token


@dataclass
class Alerting:
    urls: list[str]
    hooks: HttpReceiver
    mail: list[Message]
    apps: list[Any]

    @property
    def url(self) -> str:
        return self.urls[0]

    def ask(self, model: str = "formatter", url: str | None = None) -> httpx.Response:
        return httpx.post(
            f"{url or self.url}/v1/chat/completions",
            json={"model": model, "messages": MESSAGES},
            timeout=30,
        )

    def state(self, url: str | None = None) -> dict[str, Any]:
        response = httpx.get(f"{url or self.url}/api/admin/gateway/alerts", headers=AUTH)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def events(self, path: str, event: str | None = None) -> list[Any]:
        bodies = [r.json for r in self.hooks.at(path)]
        if event is None:
            return bodies
        key = "event_action" if path == "/pd" else "event"
        return [b for b in bodies if b.get(key) == event]


@contextmanager
def alerting(
    tmp_path: Path,
    simulator: SimulatorHandle,
    rules: str,
    *,
    replicas: int = 1,
    database_url: str | None = None,
    redis: tuple[str, str] | None = None,
    budgets: str | None = None,
    **settings: Any,
) -> Iterator[Alerting]:
    with ExitStack() as stack:
        hooks = stack.enter_context(HttpReceiver().running())
        smtp_port, mail = stack.enter_context(smtp_server())
        alerts_file = tmp_path / "alerts.yaml"
        alerts_file.write_text(rules)
        config_dir = tmp_path / "config"
        shutil.copytree(REPO_CONFIG, config_dir, ignore=shutil.ignore_patterns("scenarios"))
        if budgets is not None:
            (config_dir / "budgets.yaml").write_text(budgets)
        urls, apps = [], []
        for index in range(replicas):
            home = tmp_path / f"replica-{index}"
            home.mkdir()
            values: dict[str, Any] = {
                "GATEWAY_SIMULATE": False,
                "OPENROUTER_API_KEY": "sk-or-alerts-test-0000",
                "OPENROUTER_BASE_URL": simulator.base_url,
                "GATEWAY_CONFIG_DIR": config_dir,
                "DATABASE_URL": database_url or f"sqlite+aiosqlite:///{tmp_path}/alerts.sqlite3",
                "GATEWAY_DB_AUTO_MIGRATE": True,
                "GATEWAY_LEDGER_SPOOL_DIR": home / "spool",
                "GATEWAY_LEDGER_FLUSH_MS": 20,
                "GATEWAY_MAX_RETRIES": 0,
                "GATEWAY_FALLBACK_ENABLED": False,
                "GATEWAY_ALERTS_FILE": alerts_file,
                "GATEWAY_ALERTS_INTERVAL_S": 0.2,
                "GATEWAY_ALERTS_DELIVERY_BACKOFF_S": 0.05,
                "GATEWAY_PAGERDUTY_URL": f"{hooks.base_url}/pd",
                "PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
                "SLACK_WEBHOOK_URL": f"{hooks.base_url}{SLACK_PATH}",
                "GATEWAY_ALERTS_WEBHOOK_URL": f"{hooks.base_url}/hook",
                "GATEWAY_ALERTS_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "GATEWAY_SMTP_HOST": "127.0.0.1",
                "GATEWAY_SMTP_PORT": smtp_port,
                "GATEWAY_SMTP_STARTTLS": False,
                "GATEWAY_ALERTS_EMAIL_TO": "admin@example.test",
                "GATEWAY_CIRCUIT_FAILURE_THRESHOLD": 1000,
            }
            if redis is not None:
                values.update(REDIS_URL=redis[0], GATEWAY_REDIS_PREFIX=redis[1])
                values.update(GATEWAY_HEARTBEAT_S=0.2)
            values.update(settings)
            app = create_app(make_settings(home, **values))
            url, _ = stack.enter_context(serve(app))
            urls.append(url)
            apps.append(app)
        yield Alerting(urls, hooks, mail, apps)
