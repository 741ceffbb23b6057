"""The two real servers a scorecard run talks to, both on 127.0.0.1 ephemeral ports.

- the simulator (:func:`llm_gateway.simulator.testing.run_simulator`), an OpenRouter-compatible
  HTTP server in a background thread, whose attempt log is the upstream's side of the story;
- the gateway: ``create_app(settings)`` served by uvicorn (uvloop, the gateway's own
  httptools protocol with its head limits and receive deadline, as ``llm-gateway serve`` runs
  it) in a background thread, pointed at the simulator as its OpenRouter upstream.

A fresh gateway per cell, so circuit state and health never leak from one cell to the next.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from llm_gateway.app import create_app
from llm_gateway.config.location import resolve_config_dir
from llm_gateway.faults.cells import Pace
from llm_gateway.gateway import set_llm_gateway
from llm_gateway.http_protocol import GatewayHttpProtocol
from llm_gateway.routes.deps import reset_process_services
from llm_gateway.settings import Settings

ADMIN_TOKEN = "faults-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
UPSTREAM_KEY = "sk-or-faults-upstream-key"
_START_TIMEOUT_S = 15.0


class _Protocol(GatewayHttpProtocol):
    """The gateway's protocol with its default limits, not read from the process settings."""

    receive_timeout_s = 60.0
    max_header_bytes = 64 * 1024
    max_header_count = 100


def gateway_settings(pace: Pace, upstream_url: str, workdir: Path, **overrides: Any) -> Settings:
    """Settings of a gateway in front of the simulator at ``upstream_url``, files under
    ``workdir``; the deadlines and retry delay come from ``pace``, the rest are defaults."""
    values: dict[str, Any] = {
        "GATEWAY_CONFIG_DIR": shipped_config_dir(workdir),
        "OPENROUTER_API_KEY": UPSTREAM_KEY,
        "OPENROUTER_BASE_URL": upstream_url,
        "GATEWAY_SIMULATE": False,
        "GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN,
        "GATEWAY_API_KEYS": None,
        "GATEWAY_API_KEYS_FILE": None,
        "GATEWAY_AUDIT_LOG_FILE": workdir / "audit.jsonl",
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'gateway.sqlite3'}",
        "GATEWAY_LEDGER_SPOOL_DIR": workdir / "spool",
        "GATEWAY_RETRY_DELAY": pace.retry_delay_s,
        "GATEWAY_HEADERS_TIMEOUT": pace.headers_timeout_s,
        "GATEWAY_FIRST_TOKEN_TIMEOUT": pace.headers_timeout_s,
        "GATEWAY_STALL_TIMEOUT": pace.headers_timeout_s,
        "GATEWAY_TOTAL_TIMEOUT": pace.total_timeout_s,
        "GATEWAY_CIRCUIT_FAILURE_THRESHOLD": pace.circuit_threshold,
        "GATEWAY_CIRCUIT_COOLDOWN_S": pace.circuit_cooldown_s,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def shipped_config_dir(empty_dir: Path) -> Path:
    """The shipped catalogue the cells are written for (never a ``./config`` of the working
    directory): what the gateway would use when run from ``empty_dir``, a directory without
    a ``config/``."""
    return resolve_config_dir(None, cwd=empty_dir)[0]


@contextmanager
def served_gateway(settings: Settings) -> Iterator[str]:
    """Yield the base URL (``http://127.0.0.1:PORT``) while the gateway is served; stop it,
    join its thread and forget the process-wide services on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings),
        loop="uvloop",
        http=_Protocol,
        lifespan="on",
        access_log=False,
        log_level="error",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        set_llm_gateway(None)
        reset_process_services()


def healthy(base_url: str) -> bool:
    """``/healthz`` and ``/readyz`` answer 200 and the admin health says ``healthy``."""
    try:
        alive = httpx.get(f"{base_url}/healthz", timeout=5)
        ready = httpx.get(f"{base_url}/readyz", timeout=5)
        health = httpx.get(f"{base_url}/api/admin/gateway/health", headers=ADMIN, timeout=5)
    except httpx.HTTPError:
        return False
    if (alive.status_code, ready.status_code, health.status_code) != (200, 200, 200):
        return False
    return bool(health.json().get("overall_status") == "healthy")


def model_health(base_url: str, model: str) -> dict[str, Any]:
    """The admin health entry of one logical model (circuit, consecutive failures, ...)."""
    health = httpx.get(f"{base_url}/api/admin/gateway/health", headers=ADMIN, timeout=5)
    entry: dict[str, Any] = health.json()["models"][model]
    return entry
