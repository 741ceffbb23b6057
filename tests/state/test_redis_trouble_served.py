"""A Redis of the test's own, killed mid-run: requests keep succeeding, health says degraded,
an admin change made meanwhile holds, and everything reconverges when Redis is back — even
though it comes back empty (the control state is rebuilt from the record store)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from tests.http.conftest import AUTH, make_settings
from tests.http.serving import serve
from tests.state.own_redis import OwnRedis, OwnSentinel

from llm_gateway.app import create_app
from llm_gateway.state.base import ControlState
from llm_gateway.state.redis_store import RedisStateStore

MESSAGES = [{"role": "user", "content": "hello"}]


def _wait_for(check: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def _health(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/api/admin/gateway/health", headers=AUTH, timeout=10).json()


def _ask(url: str, model: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions", json={"model": model, "messages": MESSAGES}, timeout=30
    )


async def _control_state(url: str) -> ControlState:
    store = RedisStateStore(url)
    try:
        return await store.control_state()
    finally:
        await store.aclose()


def test_a_redis_outage_degrades_nothing_but_sharing(tmp_path: Path) -> None:
    redis_server = OwnRedis(tmp_path / "redis").start()
    settings = make_settings(
        tmp_path,
        REDIS_URL=redis_server.url,
        GATEWAY_HEARTBEAT_S=0.2,
        GATEWAY_CONTROL_RESYNC_S=0.5,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/records.sqlite3",
    )
    try:
        with serve(create_app(settings)) as (url, _):
            put = httpx.put(
                f"{url}/api/admin/gateway/policies/formatter",
                json={"model_id": "gpt-4o-mini", "mode": "override"},
                headers=AUTH,
            ).json()
            assert put["applied_by"] == 1 and put["replicas"] == 1
            assert _health(url)["overall_status"] == "healthy"

            redis_server.kill()
            for _ in range(5):
                assert _ask(url, "formatter").headers["x-gateway-model"] == "gpt-4o-mini"
            _wait_for(lambda: _health(url)["overall_status"] == "degraded")
            health = _health(url)
            assert health["state"]["state_store"]["status"] == "unavailable"
            assert any("state store unavailable" in w for w in health["warnings"])
            during = httpx.put(
                f"{url}/api/admin/gateway/policies/writer",
                json={"model_id": "claude-sonnet", "mode": "override"},
                headers=AUTH,
            )
            assert during.status_code == 200, during.text
            assert (
                during.json()["replicas"] is None
                and "this replica only" in during.json()["warning"]
            )
            assert _ask(url, "writer").headers["x-gateway-model"] == "claude-sonnet"

            redis_server.start()  # same port, empty: nothing was saved
            _wait_for(lambda: _health(url)["overall_status"] == "healthy")
            state = asyncio.run(_control_state(redis_server.url))
            overrides = state.kind("override")
            assert overrides["formatter"]["model_id"] == "gpt-4o-mini"
            assert overrides["writer"]["model_id"] == "claude-sonnet"
            assert _ask(url, "formatter").headers["x-gateway-model"] == "gpt-4o-mini"
    finally:
        redis_server.kill()


def test_the_state_store_through_sentinel(tmp_path: Path) -> None:
    master = OwnRedis(tmp_path / "master").start()
    sentinel = OwnSentinel(tmp_path / "sentinel", master.port).start()
    try:
        url = f"redis+sentinel://127.0.0.1:{sentinel.port}/gwmaster/0"
        settings = make_settings(tmp_path, REDIS_URL=url, GATEWAY_HEARTBEAT_S=0.2)
        with serve(create_app(settings)) as (base, _):
            put = httpx.put(
                f"{base}/api/admin/gateway/policies/formatter",
                json={"model_id": "gpt-4o-mini", "mode": "override"},
                headers=AUTH,
            ).json()
            assert put["applied_by"] == 1 and put["replicas"] == 1, put
            listed = httpx.get(f"{base}/api/admin/gateway/replicas", headers=AUTH).json()
            assert listed["backend"] == "redis" and listed["count"] == 1
        import redis

        direct = redis.Redis(host="127.0.0.1", port=master.port, decode_responses=True)
        try:  # the state went to the master the sentinel named
            assert any("control" in key for key in direct.scan_iter("{llmg}:*"))
        finally:
            direct.close()
    finally:
        sentinel.kill()
        master.kill()
