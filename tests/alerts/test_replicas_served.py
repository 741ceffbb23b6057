"""Three ``llm-gateway serve`` processes sharing the real Redis (a key prefix of the test's own)
and a PostgreSQL database of its own: one evaluates at a time, so each incident pages once and
resolves once; ``auto_disable_model`` takes the model out of selection on all three, and an
admin's enable on any one brings it back on all. When the evaluator stops, another takes over
without paging again."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.alerts.receivers import HttpReceiver, wait_for
from tests.http.test_serve_cli import SERVE, environment, free_port
from tests.shared_services import REDIS_URL

from llm_gateway.simulator.testing import SimulatorHandle

TOKEN = "alerts-replicas-admin-token-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RULES = """\
alerts:
  - name: high_error_rate
    condition: error_rate > 5%
    actions: [page_oncall, webhook]
    window: 2s
  - name: model_failures
    condition: model_consecutive_failures >= 3
    actions: [auto_disable_model, webhook]
"""
FAILING_MINI = {
    "zero_latency": True,
    "models": {"openai/gpt-4o-mini": {"faults": [{"kind": "error", "status": 503}]}},
}


@contextmanager
def _process(env: dict[str, str], cwd: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [*SERVE, "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/admin/gateway/alerts", headers=AUTH, timeout=2).is_success
    except httpx.HTTPError:
        return False


@pytest.fixture
def three(
    tmp_path: Path, simulator: SimulatorHandle, pg_url: str, redis_prefix: str
) -> Iterator[tuple[list[str], list[subprocess.Popen[bytes]], HttpReceiver]]:
    (tmp_path / "alerts.yaml").write_text(RULES)
    with ExitStack() as stack:
        hooks = stack.enter_context(HttpReceiver().running())
        urls, processes = [], []
        for index in range(3):
            home = tmp_path / f"r{index}"
            home.mkdir()
            port = free_port()
            env = environment(
                home,
                GATEWAY_SIMULATE="false",
                OPENROUTER_API_KEY="sk-or-alerts-replicas-0000",
                OPENROUTER_BASE_URL=simulator.base_url,
                GATEWAY_ADMIN_TOKEN=TOKEN,
                DATABASE_URL=pg_url,
                GATEWAY_DB_AUTO_MIGRATE="true",
                GATEWAY_LEDGER_SPOOL_DIR=str(home / "spool"),
                GATEWAY_LEDGER_FLUSH_MS="20",
                REDIS_URL=REDIS_URL,
                GATEWAY_REDIS_PREFIX=redis_prefix,
                GATEWAY_HEARTBEAT_S="0.2",
                GATEWAY_MAX_RETRIES="0",
                GATEWAY_FALLBACK_ENABLED="false",
                GATEWAY_CIRCUIT_FAILURE_THRESHOLD="1000",
                GATEWAY_ALERTS_FILE=str(tmp_path / "alerts.yaml"),
                GATEWAY_ALERTS_INTERVAL_S="0.2",
                GATEWAY_PAGERDUTY_URL=f"{hooks.base_url}/pd",
                PAGERDUTY_ROUTING_KEY="pd-routing-key-replicas-0123",
                GATEWAY_ALERTS_WEBHOOK_URL=f"{hooks.base_url}/hook",
                GATEWAY_ALERTS_WEBHOOK_SECRET="whsec-replicas-0123456789",
            )
            url = f"http://127.0.0.1:{port}"
            processes.append(stack.enter_context(_process(env, home, port)))
            # one at a time: the first migrates the new database
            wait_for(lambda url=url: _up(url), 60, f"replica {index} up")  # type: ignore[misc]
            urls.append(url)
        yield urls, processes, hooks


def _events(hooks: HttpReceiver, path: str, **match: Any) -> list[dict[str, Any]]:
    bodies = [r.json for r in hooks.at(path)]
    return [b for b in bodies if all(b.get(k) == v for k, v in match.items())]


def _disabled_on(url: str) -> bool:
    models = httpx.get(f"{url}/api/admin/gateway/models", headers=AUTH, timeout=5).json()
    return next(m for m in models["models"] if m["model_id"] == "gpt-4o-mini")["disabled_by_admin"]


def test_three_replicas_page_once_per_incident_and_disable_everywhere(
    three: tuple[list[str], list[subprocess.Popen[bytes]], HttpReceiver],
    simulator: SimulatorHandle,
) -> None:
    urls, processes, hooks = three
    evaluators = {
        httpx.get(f"{u}/api/admin/gateway/alerts", headers=AUTH).json()["evaluator"] for u in urls
    }
    assert len(evaluators) == 1 and None not in evaluators  # all three see the same one
    simulator.set_scenario(FAILING_MINI)
    for url in urls:  # three failures, one through each replica
        answer = httpx.post(
            f"{url}/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
            timeout=30,
        )
        assert answer.status_code >= 500, answer.text
    wait_for(lambda: _events(hooks, "/pd", event_action="trigger"), what="page")
    wait_for(lambda: _events(hooks, "/hook", event="trigger", rule="model_failures"), what="hook")
    for url in urls:
        wait_for(lambda url=url: _disabled_on(url), 10, f"disabled on {url}")  # type: ignore[misc]
    time.sleep(1.5)  # many more rounds on three replicas: nothing sent twice
    assert len(_events(hooks, "/pd", event_action="trigger")) == 1
    assert len(_events(hooks, "/hook", event="trigger")) == 2  # one per incident
    health = httpx.get(f"{urls[2]}/api/admin/gateway/health", headers=AUTH).json()
    assert health["models"]["gpt-4o-mini"]["auto_disabled_by_alert"] == "model_failures"

    # The evaluator stops: another replica takes the lease over and pages nobody again.
    states = [httpx.get(f"{u}/api/admin/gateway/alerts", headers=AUTH).json() for u in urls]
    (evaluating,) = [i for i, s in enumerate(states) if s["this_replica_evaluates"]]
    os.killpg(processes[evaluating].pid, signal.SIGTERM)
    processes[evaluating].wait(timeout=20)
    rest = [u for i, u in enumerate(urls) if i != evaluating]

    def new_evaluator() -> bool:
        return any(
            httpx.get(f"{u}/api/admin/gateway/alerts", headers=AUTH).json()[
                "this_replica_evaluates"
            ]
            for u in rest
        )

    wait_for(new_evaluator, 15, "a new evaluator")
    time.sleep(0.6)
    assert len(_events(hooks, "/pd", event_action="trigger")) == 1

    # An admin enables the model on one replica: back in selection on every replica, and the
    # incident resolves once.
    simulator.set_scenario({"zero_latency": True})
    enabled = httpx.put(
        f"{rest[0]}/api/admin/gateway/models/gpt-4o-mini",
        json={"enabled": True},
        headers=AUTH,
        timeout=10,
    )
    assert enabled.status_code == 200, enabled.text
    for url in rest:
        assert not _disabled_on(url)
        answer = httpx.post(
            f"{url}/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
            timeout=30,
        )
        assert answer.status_code == 200 and answer.headers["x-gateway-model"] == "gpt-4o-mini"
    wait_for(
        lambda: _events(hooks, "/hook", event="resolve", rule="model_failures"), what="resolve"
    )
    wait_for(lambda: _events(hooks, "/pd", event_action="resolve"), 15, "page resolved")
    time.sleep(0.6)
    assert len(_events(hooks, "/hook", event="resolve", rule="model_failures")) == 1
    assert len(_events(hooks, "/pd", event_action="resolve")) == 1
