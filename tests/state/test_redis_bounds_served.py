"""Redis stays bounded: requests with thousands of distinct node names, trace ids and users add
no key; admin changes add only keys that expire; redis-stats reports it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from redis import asyncio as aioredis
from tests.http.conftest import AUTH, make_settings
from tests.http.serving import serve
from tests.state.conftest import REDIS_URL

from llm_gateway.app import create_app
from llm_gateway.state.stats import BOUNDED_WITHOUT_TTL, redis_usage

# The quick form in `make test`; `make bounds` runs 100,000.
REQUESTS = int(os.environ.get("GATEWAY_BOUNDS_REQUESTS", "1000"))


async def _usage(prefix: str) -> dict[str, tuple[int, int, int]]:
    client = aioredis.from_url(REDIS_URL, decode_responses=True)
    try:
        families = await redis_usage(client, "{" + prefix + "}")
        return {name: (f.keys, f.without_ttl, f.bytes) for name, f in families.items()}
    finally:
        await client.aclose()


async def _load(url: str) -> None:
    limits = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def one(i: int) -> None:
            async with limits:
                response = await client.post(
                    "/v1/chat/completions",
                    json={
                        "model": "auto",
                        "messages": [{"role": "user", "content": "hi"}],
                        "user": f"user-{i}",
                    },
                    headers={"X-Gateway-Node": f"node-{i % 200}", "X-Trace-Id": f"t{i:08d}"},
                )
                assert response.status_code == 200

        await asyncio.wait_for(
            asyncio.gather(*(one(i) for i in range(REQUESTS))), 240 + REQUESTS / 50
        )


@pytest.mark.timeout(300 + REQUESTS // 50)
def test_requests_add_no_key_and_every_unbounded_key_expires(
    tmp_path: Path, redis_prefix: str
) -> None:
    settings = make_settings(tmp_path, REDIS_URL=REDIS_URL, GATEWAY_REDIS_PREFIX=redis_prefix)
    with serve(create_app(settings)) as (url, _):
        for model in ("gpt-4o-mini", "claude-haiku"):
            httpx.put(
                f"{url}/api/admin/gateway/policies/formatter",
                json={"model_id": model, "mode": "override"},
                headers=AUTH,
            ).raise_for_status()
        before = asyncio.run(_usage(redis_prefix))
        asyncio.run(_load(url))
        after = asyncio.run(_usage(redis_prefix))
        assert sum(k for k, _, _ in after.values()) <= sum(k for k, _, _ in before.values())
        # Memory too: what the requests left is no more than a fixed allowance.
        assert sum(b for *_, b in after.values()) <= sum(b for *_, b in before.values()) + 4096
        for family, (_, without_ttl, _) in after.items():
            assert without_ttl == 0 or family in BOUNDED_WITHOUT_TTL, (family, after)
    env = {
        "REDIS_URL": REDIS_URL,
        "GATEWAY_REDIS_PREFIX": redis_prefix,
        "PATH": "/usr/bin:/bin",
    }
    shown = subprocess.run(
        [sys.executable, "-c", "from llm_gateway.cli import app; app()", "redis-stats", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    families = json.loads(shown.stdout)
    assert families["control"]["keys"] == 2 and families["control"]["bytes"] > 0
    assert families["ack"]["without_ttl"] == 0
