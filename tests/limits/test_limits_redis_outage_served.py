"""A Redis of the test's own, killed mid-run under a node rate limit: the replica keeps
enforcing the limit on its own (its share: it is alone), answers 429 rather than failing, and
uses the shared bucket again once Redis is back (rate-limit buckets are soft state: a Redis
that lost its data starts them full)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import yaml
from tests.http.conftest import AUTH, SimulatedProviders, make_settings
from tests.http.serving import serve
from tests.state.own_redis import OwnRedis

from llm_gateway.app import create_app
from llm_gateway.gateway import build_gateway, set_llm_gateway
from llm_gateway.routes.deps import reset_process_services

SHIPPED = Path(__file__).resolve().parents[2] / "config"
BODY = {"model": "formatter", "messages": [{"role": "user", "content": "hello"}]}


def _statuses(url: str, count: int) -> list[int]:
    return [
        httpx.post(f"{url}/v1/chat/completions", json=BODY, timeout=30).status_code
        for _ in range(count)
    ]


def test_limits_hold_locally_while_redis_is_down(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(SHIPPED, config, ignore=shutil.ignore_patterns("scenarios"))
    (config / "limits.yaml").write_text(
        yaml.safe_dump({"limits": {"nodes": {"formatter": {"rpm": 4}}}})
    )
    redis_server = OwnRedis(tmp_path / "redis").start()
    settings = make_settings(
        tmp_path,
        REDIS_URL=redis_server.url,
        GATEWAY_CONFIG_DIR=config,
        GATEWAY_HEARTBEAT_S=0.2,
        GATEWAY_RATE_LIMIT_WAIT_MS=0,
        DATABASE_URL="",
    )
    gateway = build_gateway(settings, providers=SimulatedProviders())  # zero latency
    try:
        with serve(create_app(settings, gateway=gateway)) as (url, _):
            assert _statuses(url, 2) == [200, 200]  # the shared bucket: 2 of 4 used
            redis_server.kill()
            # Alone, this replica's share is the whole limit, on a bucket of its own.
            assert _statuses(url, 5) == [200, 200, 200, 200, 429]
            health = httpx.get(f"{url}/api/admin/gateway/health", headers=AUTH).json()
            assert health["state"]["rate_limits"]["status"] == "local"
            assert any("rate limits enforced per replica" in w for w in health["warnings"])
            redis_server.start()
            time.sleep(1.2)  # the store is asked again after a second
            # The shared bucket again; this Redis came back empty (nothing saved), so it is full.
            assert _statuses(url, 5) == [200, 200, 200, 200, 429]
            health = httpx.get(f"{url}/api/admin/gateway/health", headers=AUTH).json()
            assert health["state"]["rate_limits"]["status"] == "ok"
    finally:
        redis_server.kill()
        set_llm_gateway(None)
        reset_process_services()
