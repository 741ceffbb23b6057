"""Rate limits on a served gateway (real socket, the in-process simulated provider, the memory
state store): a node's rpm gives 429 with Retry-After naming the limit (and its ledger row), a
model at its limit is skipped to its fallback, tpm reservations settle to the tokens used, and
limits.yaml reloads like the other files (a broken one keeps the last good limits)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from tests.http.conftest import ADMIN_TOKEN, SimulatedProviders, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.gateway import build_gateway, set_llm_gateway
from llm_gateway.routes.deps import reset_process_services

SHIPPED = Path(__file__).resolve().parents[2] / "config"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
MESSAGES = [{"role": "user", "content": "Hello"}]
LIMITS = {
    "limits": {
        "nodes": {"formatter": {"rpm": 3}, "writer": {"tpm": 3000}},
        "keys": {},
    }
}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    shutil.copytree(SHIPPED, directory, ignore=shutil.ignore_patterns("scenarios"))
    policies = yaml.safe_load((directory / "model_policies.yaml").read_text())
    policies["policies"]["gpt-4o-mini"]["rpm"] = 1
    (directory / "model_policies.yaml").write_text(yaml.safe_dump(policies, sort_keys=False))
    (directory / "limits.yaml").write_text(yaml.safe_dump(LIMITS))
    return directory


@pytest.fixture
def url(tmp_path: Path, config: Path) -> Iterator[str]:
    settings = make_settings(
        tmp_path,
        GATEWAY_CONFIG_DIR=config,
        GATEWAY_RATE_LIMIT_WAIT_MS=0,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/ledger.sqlite3",
        GATEWAY_LEDGER_SPOOL_DIR=tmp_path / "spool",
    )
    gateway = build_gateway(settings, providers=SimulatedProviders())
    try:
        with serve(create_app(settings, gateway=gateway)) as (base, _):
            yield base
    finally:
        set_llm_gateway(None)
        reset_process_services()


def chat(url: str, model: str, **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": MESSAGES, **extra}
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30)


def ledger_rows(url: str, wanted: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        rows = httpx.get(f"{url}/api/admin/gateway/ledger", headers=ADMIN).json()["rows"]
        if len(rows) >= wanted or time.monotonic() > deadline:
            return list(rows)
        time.sleep(0.1)


def test_a_node_over_its_rpm_gets_429_naming_the_limit_and_a_ledger_row(url: str) -> None:
    assert [chat(url, "formatter").status_code for _ in range(3)] == [200, 200, 200]
    refused = chat(url, "formatter")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 20  # one request every 20 s refills
    error = refused.json()["error"]
    assert error["type"] == "rate_limit_error" and error["code"] == "rate_limit_exceeded"
    assert error["limit"] == {
        "scope": "node",
        "key": "formatter",
        "name": "rpm",
        "limit": 3,
        "period_s": 60,
    }
    assert "node 'formatter' is at its rpm limit (3 requests per minute)" in error["message"]
    assert chat(url, "writer").status_code == 200  # another node is not affected
    rows = ledger_rows(url, 5)
    refusals = [r for r in rows if r["status"] == "refused"]
    assert len(refusals) == 1
    assert refusals[0]["node"] == "formatter"
    assert refusals[0]["error_type"] == "rate_limit_exceeded"
    # On /metrics: the refusal by scope and limit, never by the node's name.
    families = {
        family.name: family
        for family in text_string_to_metric_families(httpx.get(f"{url}/metrics").text)
    }
    refused_total = {
        (s.labels["scope"], s.labels["limit"]): s.value
        for s in families["llm_gateway_rate_limit_refusals"].samples
        if s.name.endswith("_total")
    }
    assert refused_total[("node", "rpm")] >= 1
    assert "llm_gateway_rate_limit_leased_headroom" in families
    assert "llm_gateway_model_cooldown_seconds" in families


def test_a_model_at_its_limit_is_skipped_to_its_fallback(url: str, config: Path) -> None:
    first = chat(url, "gpt-4o-mini")
    assert first.status_code == 200 and first.headers["x-gateway-model"] == "gpt-4o-mini"
    second = chat(url, "gpt-4o-mini")
    assert second.status_code == 200
    assert second.headers["x-gateway-model"] != "gpt-4o-mini"
    row = ledger_rows(url, 2)[-1]
    assert row["fallback_used"] is True and row["model"] != "gpt-4o-mini"
    # Every model at one request per minute: once the chain is used up, 429 naming a model.
    policies = yaml.safe_load((config / "model_policies.yaml").read_text())
    for entry in policies["policies"].values():
        entry["rpm"] = 1
    (config / "model_policies.yaml").write_text(yaml.safe_dump(policies, sort_keys=False))
    reload = httpx.post(f"{url}/api/admin/gateway/policies/reload", headers=ADMIN, timeout=30)
    assert reload.status_code == 200, reload.text
    for _ in range(len(policies["policies"]) + 1):
        answer = chat(url, "gpt-4o-mini")
        if answer.status_code != 200:
            break
    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) >= 1
    limit = answer.json()["error"]["limit"]
    assert limit["scope"] == "model" and limit["name"] == "rpm" and limit["limit"] == 1
    assert "/" in limit["key"]  # the provider model: provider/provider_model_id


def test_tpm_reservations_settle_to_the_tokens_used(url: str) -> None:
    # Each request reserves ~1000 tokens (max_tokens) of the writer's 3000 per minute; it uses
    # a few dozen, and the rest goes back: ten in a row fit. Unsettled, the fourth would not.
    answers = [chat(url, "writer", max_tokens=1000) for _ in range(10)]
    assert [a.status_code for a in answers] == [200] * 10
    used = sum(a.json()["usage"]["total_tokens"] for a in answers)
    assert used < 3000
    # streams too: settled to the usage of their last chunk
    for _ in range(5):
        streamed = chat(url, "writer", max_tokens=1000, stream=True)
        assert streamed.status_code == 200 and "data: [DONE]" in streamed.text
    # a request that could never fit its estimate in what is left is refused
    refused = chat(url, "writer", max_tokens=2900)
    assert refused.status_code == 429
    assert refused.json()["error"]["limit"]["name"] == "tpm"


def test_limits_reload_and_a_broken_file_keeps_the_last_good_ones(url: str, config: Path) -> None:
    (config / "limits.yaml").write_text("limits:\n  nodes:\n    formatter: {rpm: -1}\n")
    reload = httpx.post(f"{url}/api/admin/gateway/policies/reload", headers=ADMIN, timeout=30)
    assert reload.status_code == 422
    assert "limits.yaml: limits.nodes.formatter.rpm" in reload.text
    assert [chat(url, "formatter").status_code for _ in range(4)] == [200, 200, 200, 429]
    (config / "limits.yaml").write_text("limits:\n  nodes:\n    formatter: {rpm: 100}\n")
    reload = httpx.post(f"{url}/api/admin/gateway/policies/reload", headers=ADMIN, timeout=30)
    assert reload.status_code == 200, reload.text
    assert chat(url, "formatter").status_code == 200


@pytest.fixture
def keyed_url(tmp_path: Path, config: Path) -> Iterator[str]:
    keys = {"limits": {"keys": {"team-a": {"rpm": 2}, "*": {"rpm": 3}}}}
    (config / "limits.yaml").write_text(yaml.safe_dump(keys))
    settings = make_settings(
        tmp_path,
        GATEWAY_CONFIG_DIR=config,
        GATEWAY_RATE_LIMIT_WAIT_MS=0,
        DATABASE_URL="",
        GATEWAY_API_KEYS="team-a:sk-team-a-0123456789,team-b:sk-team-b-0123456789",
    )
    gateway = build_gateway(settings, providers=SimulatedProviders())
    try:
        with serve(create_app(settings, gateway=gateway)) as (base, _):
            yield base
    finally:
        set_llm_gateway(None)
        reset_process_services()


def test_each_client_key_has_its_own_limit(keyed_url: str) -> None:
    def as_key(key: str) -> int:
        body = {"model": "writer", "messages": MESSAGES}
        headers = {"Authorization": f"Bearer {key}"}
        url = f"{keyed_url}/v1/chat/completions"
        return httpx.post(url, json=body, headers=headers, timeout=30).status_code

    assert [as_key("sk-team-a-0123456789") for _ in range(3)] == [200, 200, 429]
    assert [as_key("sk-team-b-0123456789") for _ in range(4)] == [200, 200, 200, 429]  # "*"
    body = {"model": "writer", "messages": MESSAGES}
    refused = httpx.post(
        f"{keyed_url}/v1/chat/completions",
        json=body,
        headers={"Authorization": "Bearer sk-team-a-0123456789"},
        timeout=30,
    ).json()["error"]
    assert refused["limit"]["scope"] == "key" and refused["limit"]["key"] == "team-a"
    assert "sk-team" not in str(refused)  # the key itself is never named
