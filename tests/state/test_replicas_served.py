"""Two replicas (two served apps) sharing the real Redis and a PostgreSQL database: admin
changes, reloads and circuits made on one govern the other, acknowledged."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.http.conftest import AUTH, make_settings
from tests.http.serving import serve
from tests.shared_services import replica_settings

from llm_gateway.app import create_app
from llm_gateway.simulator.testing import SimulatorHandle

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"
MESSAGES = [{"role": "user", "content": "hello"}]


@pytest.fixture
def replicas(
    tmp_path: Path, simulator: SimulatorHandle, pg_url: str, redis_prefix: str
) -> Iterator[tuple[list[str], list[Path]]]:
    simulator.set_scenario({"zero_latency": True})
    urls, config_dirs = [], []
    with ExitStack() as stack:
        for name in ("a", "b"):
            config_dir = tmp_path / f"config-{name}"
            shutil.copytree(REPO_CONFIG, config_dir, ignore=shutil.ignore_patterns("scenarios"))
            home = tmp_path / name
            home.mkdir()
            values = replica_settings(
                home=home,
                config_dir=config_dir,
                upstream_url=simulator.base_url,
                pg_url=pg_url,
                redis_prefix=redis_prefix,
            )
            settings = make_settings(home, **values, GATEWAY_DB_AUTO_MIGRATE=True)
            url, _ = stack.enter_context(serve(create_app(settings)))
            urls.append(url)
            config_dirs.append(config_dir)
        _wait_for(lambda: _replica_count(urls[0]) == 2)
        yield urls, config_dirs


def _replica_count(url: str) -> int:
    return int(httpx.get(f"{url}/api/admin/gateway/replicas", headers=AUTH).json()["count"])


def _wait_for(check: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def _answering_model(url: str, model: str) -> str:
    response = httpx.post(
        f"{url}/v1/chat/completions", json={"model": model, "messages": MESSAGES}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.headers["x-gateway-model"]


def test_an_override_on_one_replica_governs_the_next_request_on_the_other(
    replicas: tuple[list[str], list[Path]],
) -> None:
    (a, b), _ = replicas
    default = _answering_model(a, "formatter")
    assert default != "gpt-4o-mini"
    put = httpx.put(
        f"{a}/api/admin/gateway/policies/formatter",
        json={"model_id": "gpt-4o-mini", "mode": "override"},
        headers=AUTH,
    )
    assert put.status_code == 200, put.text
    assert put.json()["applied_by"] == 2 and put.json()["replicas"] == 2
    assert _answering_model(b, "formatter") == "gpt-4o-mini"
    gone = httpx.delete(f"{b}/api/admin/gateway/policies/formatter", headers=AUTH).json()
    assert gone["removed"] is True and gone["applied_by"] == 2
    assert _answering_model(a, "formatter") == default  # the files' choice again
    policies = httpx.get(f"{a}/api/admin/gateway/policies", headers=AUTH).json()
    assert policies["nodes"]["formatter"]["override"] is None
    switched = httpx.put(
        f"{b}/api/admin/gateway/models/gpt-4o-mini", json={"enabled": False}, headers=AUTH
    ).json()
    assert switched["applied_by"] == 2
    models = httpx.get(f"{a}/api/admin/gateway/models", headers=AUTH).json()["models"]
    assert next(m for m in models if m["model_id"] == "gpt-4o-mini")["disabled_by_admin"]


def test_a_reload_reaches_every_replica_and_each_says_how_it_went(
    replicas: tuple[list[str], list[Path]],
) -> None:
    (a, b), (config_a, config_b) = replicas
    for config in (config_a, config_b):
        path = config / "node_requirements.yaml"
        path.write_text(path.read_text() + "\n# edited\n")
    reload = httpx.post(f"{a}/api/admin/gateway/policies/reload", headers=AUTH)
    assert reload.status_code == 200, reload.text
    results = reload.json()["replicas"]
    assert [r["status"] for r in results] == ["reloaded", "reloaded"]
    version = reload.json()["config_version"]
    assert (
        httpx.get(f"{b}/api/admin/gateway/policies", headers=AUTH).json()["config_version"]
        == version
    )
    # B's files broken: A reloads, B keeps its last good config and says so.
    (config_b / "model_policies.yaml").write_text("policies: [unclosed\n")
    path = config_a / "node_requirements.yaml"
    path.write_text(path.read_text() + "\n# edited again\n")
    reload = httpx.post(f"{a}/api/admin/gateway/policies/reload", headers=AUTH).json()
    by_status = {r["status"] for r in reload["replicas"]}
    assert by_status == {"reloaded", "kept"}
    kept = next(r for r in reload["replicas"] if r["status"] == "kept")
    assert "model_policies.yaml" in str(kept)
    assert (
        httpx.get(f"{b}/api/admin/gateway/policies", headers=AUTH).json()["config_version"]
        == version
    )


def test_failures_seen_on_one_replica_keep_the_other_off_the_dead_model(
    replicas: tuple[list[str], list[Path]], simulator: SimulatorHandle
) -> None:
    (a, b), _ = replicas
    simulator.set_scenario(
        {
            "zero_latency": True,
            "models": {"openai/gpt-4o-mini": {"faults": [{"kind": "error", "status": 503}]}},
        }
    )
    for _ in range(3):
        httpx.post(
            f"{a}/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": MESSAGES},
            timeout=30,
        )

    def open_on_b() -> bool:
        health = httpx.get(f"{b}/api/admin/gateway/health", headers=AUTH).json()
        return "gpt-4o-mini" in health["open_circuits"]

    _wait_for(open_on_b, 1.0)
    simulator.clear()
    assert _answering_model(b, "gpt-4o-mini") != "gpt-4o-mini"  # B does not try it
    assert not [r for r in simulator.attempts() if r.model == "openai/gpt-4o-mini"]


def test_a_replica_started_while_a_circuit_is_open_keeps_off_the_model(
    replicas: tuple[list[str], list[Path]],
    simulator: SimulatorHandle,
    tmp_path: Path,
    pg_url: str,
    redis_prefix: str,
) -> None:
    (a, _), _ = replicas
    simulator.set_scenario(
        {
            "zero_latency": True,
            "models": {"openai/gpt-4o-mini": {"faults": [{"kind": "error", "status": 503}]}},
        }
    )
    for _ in range(3):
        httpx.post(
            f"{a}/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": MESSAGES},
            timeout=30,
        )
    health = httpx.get(f"{a}/api/admin/gateway/health", headers=AUTH).json()
    assert "gpt-4o-mini" in health["open_circuits"]
    time.sleep(0.2)  # the hold is written beside the event
    simulator.clear()
    config_dir = tmp_path / "config-c"
    shutil.copytree(REPO_CONFIG, config_dir, ignore=shutil.ignore_patterns("scenarios"))
    home = tmp_path / "c"
    home.mkdir()
    values = replica_settings(
        home=home,
        config_dir=config_dir,
        upstream_url=simulator.base_url,
        pg_url=pg_url,
        redis_prefix=redis_prefix,
    )
    with serve(create_app(make_settings(home, **values))) as (c, _):
        health = httpx.get(f"{c}/api/admin/gateway/health", headers=AUTH).json()
        assert "gpt-4o-mini" in health["open_circuits"]  # it missed the event: read the hold
        assert _answering_model(c, "gpt-4o-mini") != "gpt-4o-mini"
    assert not [r for r in simulator.attempts() if r.model == "openai/gpt-4o-mini"]


def test_health_and_replicas_show_the_shared_state(
    replicas: tuple[list[str], list[Path]],
) -> None:
    (a, b), _ = replicas
    listed = httpx.get(f"{b}/api/admin/gateway/replicas", headers=AUTH).json()
    assert listed["backend"] == "redis" and listed["count"] == 2
    assert sum(1 for r in listed["replicas"] if r["this"]) == 1
    assert all(r["heartbeat_age_s"] < 2 for r in listed["replicas"])
    health = httpx.get(f"{a}/api/admin/gateway/health", headers=AUTH).json()
    assert health["state"]["state_store"]["status"] == "ok"
    assert health["state"]["record_store"]["status"] == "ok"
