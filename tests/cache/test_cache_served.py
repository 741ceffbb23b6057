"""The response cache through the real HTTP server: a deterministic request asked twice is
answered once upstream; the hit says so in a header, costs 0, and its ledger row records what it
saved; streams are replayed chunk by chunk; non-deterministic requests, ``no-store`` and bad
headers behave; two gateways sharing Redis share the cache."""

from __future__ import annotations

import shutil
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from redis import Redis
from tests.http.conftest import AUTH, make_settings
from tests.http.serving import serve
from tests.state.conftest import REDIS_URL

from llm_gateway.app import create_app
from llm_gateway.config.loader import load_catalog
from llm_gateway.errors import ConfigError
from llm_gateway.simulator.testing import SimulatorHandle

KEY = "sk-or-cache-test-0123456789abcdef"
SHIPPED = Path(__file__).resolve().parents[2] / "config"
ASK = [{"role": "user", "content": "Format this list as JSON: apples, pears"}]


def _config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(SHIPPED, target)
    nodes_file = target / "node_requirements.yaml"
    nodes = yaml.safe_load(nodes_file.read_text())
    nodes["nodes"]["formatter"]["cache"] = {"ttl_s": 300}
    nodes_file.write_text(yaml.safe_dump(nodes))
    return target


def _settings(tmp_path: Path, simulator: SimulatorHandle, **extra: Any):  # type: ignore[no-untyped-def]
    return make_settings(
        tmp_path,
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY=KEY,
        OPENROUTER_BASE_URL=simulator.base_url,
        GATEWAY_CONFIG_DIR=_config(tmp_path),
        **extra,
    )


def _post(url: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=30)


def _ledger(url: str) -> list[dict[str, Any]]:
    rows = httpx.get(f"{url}/api/admin/gateway/ledger", headers=AUTH, timeout=30).json()["rows"]
    return sorted(rows, key=lambda row: row["at"])


def _formatter(**extra: Any) -> dict[str, Any]:
    return {"model": "formatter", "messages": ASK, "temperature": 0, **extra}


def test_a_deterministic_request_is_answered_once_upstream(
    simulator: SimulatorHandle, tmp_path: Path
) -> None:
    simulator.set_scenario({"zero_latency": True})
    with serve(create_app(_settings(tmp_path, simulator))) as (url, _):
        first = _post(url, _formatter())
        second = _post(url, _formatter(user="someone-else"))  # `user` does not change the answer
        assert first.status_code == second.status_code == 200, (first.text, second.text)
        assert first.headers["x-gateway-cache"] == "miss"
        assert second.headers["x-gateway-cache"] == "hit"
        assert len(simulator.attempts()) == 1
        a, b = first.json(), second.json()
        assert b["choices"] == a["choices"] and b["model"] == a["model"]
        assert b["id"] != a["id"]
        assert Decimal(first.headers["x-gateway-cost-usd"]) > 0
        assert Decimal(second.headers["x-gateway-cost-usd"]) == 0
        assert b["usage"]["cost"] == 0
        rows = _ledger(url)
        assert [row["cache_hit"] for row in rows] == [False, True]
        assert Decimal(rows[1]["cost_usd"]) == 0
        assert Decimal(rows[1]["saved_usd"]) == Decimal(rows[0]["cost_usd"]) > 0
        assert rows[1]["attempts"] == 0
        metrics = httpx.get(f"{url}/metrics", timeout=30).text
        assert 'llm_gateway_cache_requests_total{node="formatter",outcome="hit"} 1.0' in metrics


def test_streams_are_replayed_chunk_by_chunk(simulator: SimulatorHandle, tmp_path: Path) -> None:
    simulator.set_scenario({"zero_latency": True})
    body = _formatter(stream=True, seed=7, temperature=0.3)
    with serve(create_app(_settings(tmp_path, simulator))) as (url, _):
        first = _post(url, body)
        second = _post(url, body)
        assert first.headers["x-gateway-cache"] == "miss"
        assert second.headers["x-gateway-cache"] == "hit"
        assert len(simulator.attempts()) == 1

        def deltas(text: str) -> list[str]:
            import json

            out = []
            for line in text.splitlines():
                if line.startswith("data: {"):
                    chunk = json.loads(line[6:])
                    out += [c["delta"].get("content") or "" for c in chunk.get("choices", [])]
            return out

        assert deltas(second.text) == deltas(first.text) and len(deltas(first.text)) > 2
        assert second.text.rstrip().endswith("data: [DONE]")
        rows = _ledger(url)
        assert [(row["stream"], row["cache_hit"]) for row in rows] == [(True, False), (True, True)]


def test_what_is_not_cached(simulator: SimulatorHandle, tmp_path: Path) -> None:
    simulator.set_scenario({"zero_latency": True})
    with serve(create_app(_settings(tmp_path, simulator))) as (url, _):
        for _ in range(2):  # not deterministic: asked twice, answered twice
            assert "x-gateway-cache" not in _post(url, _formatter(temperature=0.7)).headers
        for _ in range(2):  # the caller refuses the cache
            refused = _post(url, _formatter(), **{"X-Gateway-Cache": "no-store"})
            assert "x-gateway-cache" not in refused.headers
        # Another node, no cache: not cached, unless the request asks for it.
        plain = {"model": "gpt-4o-mini", "messages": ASK, "temperature": 0}
        assert "x-gateway-cache" not in _post(url, plain).headers
        asked = [_post(url, plain, **{"X-Gateway-Cache": "ttl=60"}) for _ in range(2)]
        assert [r.headers["x-gateway-cache"] for r in asked] == ["miss", "hit"]
        assert len(simulator.attempts()) == 2 + 2 + 1 + 1
        bad = _post(url, plain, **{"X-Gateway-Cache": "forever"})
        assert bad.status_code == 400
        assert bad.json()["error"]["param"] == "X-Gateway-Cache"
        too_long = _post(url, plain, **{"X-Gateway-Cache": "ttl=99999999"})
        assert too_long.status_code == 400 and "ttl" in too_long.json()["error"]["message"]


def test_a_bad_node_cache_entry_is_a_config_error(tmp_path: Path) -> None:
    config = _config(tmp_path)
    nodes_file = config / "node_requirements.yaml"
    nodes = yaml.safe_load(nodes_file.read_text())
    nodes["nodes"]["formatter"]["cache"] = {"ttl_s": -5}
    nodes_file.write_text(yaml.safe_dump(nodes))
    with pytest.raises(ConfigError) as caught:
        load_catalog(config)
    assert "nodes.formatter.cache.ttl_s" in str(caught.value)


def test_replicas_sharing_redis_share_the_cache(simulator: SimulatorHandle, tmp_path: Path) -> None:
    simulator.set_scenario({"zero_latency": True})
    prefix = f"cache-{uuid.uuid4().hex[:8]}"
    shared = {"REDIS_URL": REDIS_URL, "GATEWAY_REDIS_PREFIX": prefix}
    a = create_app(_settings(tmp_path / "a", simulator, **shared))
    b = create_app(_settings(tmp_path / "b", simulator, **shared))
    try:
        with serve(a) as (url_a, _), serve(b) as (url_b, _):
            assert _post(url_a, _formatter()).headers["x-gateway-cache"] == "miss"
            assert _post(url_b, _formatter()).headers["x-gateway-cache"] == "hit"
            assert len(simulator.attempts()) == 1
            client = Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match="{" + prefix + "}:cache:*"))
            assert len(keys) == 1 and 0 < client.pttl(keys[0]) <= 300_000
    finally:
        client = Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match="{" + prefix + "}*"):
            client.delete(key)
