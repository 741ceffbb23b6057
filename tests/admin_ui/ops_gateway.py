"""A dashboard gateway for the operations pages' tests (rollout, alerts): the conftest's served
gateway (SQLite record store, the HTTP simulator as OpenRouter) plus the guide's rollback guard
(rollout.yaml in the config dir) and, when given, an alerts file whose webhook action delivers
to a loopback receiver (every other action is left unconfigured, as a fresh deployment has it).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tests.admin_ui.conftest import ROOT, Dashboard
from tests.alerts.receivers import HttpReceiver
from tests.http.conftest import make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.gateway import set_llm_gateway
from llm_gateway.routes.deps import reset_process_services
from llm_gateway.simulator.testing import run_simulator

GUIDE_GUARD = ROOT / "src" / "llm_gateway" / "rollout" / "guide_guard.yaml"
WEBHOOK_SECRET = "whsec-dashboard-test-0123456789"
RECORDS = "records.sqlite3"


def records_file(dashboard: Dashboard) -> Path:
    """The served gateway's SQLite record store."""
    return dashboard.config_dir.parent / RECORDS


@contextmanager
def ops_dashboard(
    tmp: Path, *, alerts: str | None = None, **settings: Any
) -> Iterator[tuple[Dashboard, HttpReceiver]]:
    """Yield the served gateway and the receiver its webhook action posts to (``/hook``)."""
    config_dir = tmp / "config"
    shutil.copytree(ROOT / "config", config_dir)
    shutil.copy(GUIDE_GUARD, config_dir / "rollout.yaml")
    with ExitStack() as stack:
        hooks = stack.enter_context(HttpReceiver().running())
        simulator = stack.enter_context(run_simulator({"zero_latency": True}))
        values: dict[str, Any] = {
            "GATEWAY_SIMULATE": False,
            "OPENROUTER_API_KEY": "sk-or-dashboard-0000",
            "OPENROUTER_BASE_URL": simulator.base_url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / RECORDS}",
            "GATEWAY_CONFIG_DIR": config_dir,
            "GATEWAY_LEDGER_FLUSH_MS": 20,
        }
        if alerts is not None:
            (tmp / "alerts.yaml").write_text(alerts)
            values.update(
                GATEWAY_ALERTS_FILE=tmp / "alerts.yaml",
                GATEWAY_ALERTS_INTERVAL_S=0.2,
                GATEWAY_ALERTS_DELIVERY_BACKOFF_S=0.05,
                GATEWAY_ALERTS_WEBHOOK_URL=f"{hooks.base_url}/hook",
                GATEWAY_ALERTS_WEBHOOK_SECRET=WEBHOOK_SECRET,
            )
        values.update(settings)
        try:
            base_url, _server = stack.enter_context(serve(create_app(make_settings(tmp, **values))))
            yield Dashboard(base_url, simulator, config_dir), hooks
        finally:
            stack.close()
            set_llm_gateway(None)
            reset_process_services()
