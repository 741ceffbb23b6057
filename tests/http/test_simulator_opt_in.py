"""The simulated provider is an explicit opt-in (``GATEWAY_SIMULATE=true``), never the silent
stand-in for a missing key: a host app that mounts the gateway without a key is not ready, says
which key is missing and fails requests saying so; with the opt-in, health and readiness say
``simulated`` loudly; ``GATEWAY_ENV=production`` refuses to start without the key."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.http.conftest import ADMIN_TOKEN, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.gateway import set_llm_gateway
from llm_gateway.routes.deps import reset_process_services

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
HELLO = {"model": "writer", "messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture(autouse=True)
def _no_process_gateway() -> Iterator[None]:
    yield
    set_llm_gateway(None)
    reset_process_services()


def test_without_a_key_or_the_opt_in_nothing_is_simulated(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, GATEWAY_SIMULATE=False, OPENROUTER_API_KEY=None)
    with serve(create_app(settings)) as (url, _):
        ready = httpx.get(f"{url}/readyz", timeout=10)
        health = httpx.get(f"{url}/api/admin/gateway/health", headers=ADMIN, timeout=10).json()
        answer = httpx.post(f"{url}/v1/chat/completions", json=HELLO, timeout=10)
    assert ready.status_code == 503
    assert "OPENROUTER_API_KEY" in ready.json()["checks"]["providers"]
    assert health["overall_status"] == "unhealthy"
    assert health["mode"] == "live"
    assert any("OPENROUTER_API_KEY" in w for w in health["warnings"])
    assert answer.status_code >= 400, "no silent lorem ipsum"
    assert "OPENROUTER_API_KEY" in answer.text
    assert "GATEWAY_SIMULATE" in answer.text


def test_the_opt_in_is_said_by_health_and_readiness(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, GATEWAY_SIMULATE=True)
    with serve(create_app(settings)) as (url, _):
        ready = httpx.get(f"{url}/readyz", timeout=10)
        health = httpx.get(f"{url}/api/admin/gateway/health", headers=ADMIN, timeout=10).json()
        answer = httpx.post(f"{url}/v1/chat/completions", json=HELLO, timeout=10)
    assert ready.status_code == 200
    assert ready.json()["mode"] == "simulated"
    assert health["mode"] == "simulated"
    assert health["simulated"] is True
    assert any("SIMULATED" in w for w in health["warnings"])
    assert answer.status_code == 200


def serve_process(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "OPENROUTER_"))}
    clean.update(GATEWAY_AUDIT_LOG_FILE=str(tmp_path / "audit.jsonl"), COLUMNS="200", **env)
    return subprocess.run(
        [sys.executable, "-c", "from llm_gateway.cli import app; app()", "serve", "--port", "1"],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_the_key(tmp_path: Path) -> None:
    result = serve_process(tmp_path, GATEWAY_ENV="production")
    assert result.returncode == 1
    assert "OPENROUTER_API_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr
    assert "serving on" not in result.stderr


def test_production_refuses_the_simulator(tmp_path: Path) -> None:
    result = serve_process(
        tmp_path, GATEWAY_ENV="production", GATEWAY_SIMULATE="true", OPENROUTER_API_KEY="sk-x"
    )
    assert result.returncode == 1
    assert "GATEWAY_SIMULATE=true is not allowed with GATEWAY_ENV=production" in result.stderr
