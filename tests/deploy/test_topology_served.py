"""deploy/docker-compose.yml's topology without containers: the migration job, three
``llm-gateway serve`` processes sharing the real Redis and a PostgreSQL database of the test's
own, and nginx with the shipped config in front (tests/deploy/topology.py). A change made on one
replica governs the next request on every replica, acknowledged; requests spread over them."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.deploy.topology import AUTH, Topology, wait_for

MESSAGES = [{"role": "user", "content": "hello"}]
ADMIN = "/api/admin/gateway"
PROBE_NODE = """
  deploy_probe:
    required_capabilities: [streaming]
    max_cost_tier: MEDIUM
"""

pytestmark = pytest.mark.usefixtures("quiet_simulator")


def complete(url: str, model: str, **headers: str) -> httpx.Response:
    with httpx.Client(timeout=30) as client:  # a new connection each time: nginx picks anew
        return client.post(
            f"{url}/v1/chat/completions",
            json={"model": model, "messages": MESSAGES},
            headers=headers,
        )


def answering_model(url: str, model: str) -> str:
    response = complete(url, model)
    assert response.status_code == 200, response.text
    return response.headers["x-gateway-model"]


def test_an_override_made_on_one_replica_governs_the_next_request_on_every_replica(
    topology: Topology,
) -> None:
    a, b, c = topology.replicas
    default = answering_model(topology.url, "formatter")
    assert default != "gpt-4o-mini"
    try:
        put = httpx.put(
            f"{a.url}{ADMIN}/policies/formatter",
            json={"model_id": "gpt-4o-mini", "mode": "override"},
            headers=AUTH,
        )
        assert put.status_code == 200, put.text
        # applied_by counts the replicas that acknowledged within 1 s (state/control.py).
        assert (put.json()["applied_by"], put.json()["replicas"]) == (3, 3)
        assert answering_model(b.url, "formatter") == "gpt-4o-mini"
        assert answering_model(c.url, "formatter") == "gpt-4o-mini"
        through_nginx = {answering_model(topology.url, "formatter") for _ in range(6)}
        assert through_nginx == {"gpt-4o-mini"}
    finally:
        gone = httpx.delete(f"{a.url}{ADMIN}/policies/formatter", headers=AUTH)
    assert gone.json()["applied_by"] == 3, gone.text
    assert {answering_model(r.url, "formatter") for r in topology.replicas} == {default}


def _append(path: Path, text: str) -> str:
    original = path.read_text()
    path.write_text(original + text)
    return original


def test_a_reload_on_one_replica_applies_on_all_three_each_saying_how_it_went(
    topology: Topology,
) -> None:
    a, b, c = topology.replicas
    assert complete(topology.url, "deploy_probe").status_code == 404  # no such node yet
    originals = {
        r.name: _append(r.config_dir / "node_requirements.yaml", PROBE_NODE)
        for r in topology.replicas
    }
    try:
        reload = httpx.post(f"{a.url}{ADMIN}/policies/reload", headers=AUTH)
        assert reload.status_code == 200, reload.text
        results = reload.json()["replicas"]
        assert [r["status"] for r in results] == ["reloaded"] * 3, results
        version = reload.json()["config_version"]
        for replica in (b, c):
            policies = httpx.get(f"{replica.url}{ADMIN}/policies", headers=AUTH).json()
            assert policies["config_version"] == version
            assert complete(replica.url, "deploy_probe").status_code == 200
        # C's files broken: A and B reload, C keeps its last good config and says so.
        (c.config_dir / "model_policies.yaml").write_text("policies: [unclosed\n")
        reload = httpx.post(f"{a.url}{ADMIN}/policies/reload", headers=AUTH).json()
        assert sorted(r["status"] for r in reload["replicas"]) == ["kept", "reloaded", "reloaded"]
        kept = next(r for r in reload["replicas"] if r["status"] == "kept")
        assert "model_policies.yaml" in json.dumps(kept)
        assert complete(c.url, "deploy_probe").status_code == 200  # the last good config
    finally:
        for replica in topology.replicas:
            (replica.config_dir / "node_requirements.yaml").write_text(originals[replica.name])
        (c.config_dir / "model_policies.yaml").write_text(
            (a.config_dir / "model_policies.yaml").read_text()
        )
        restored = httpx.post(  # forced: it removes the probe node
            f"{a.url}{ADMIN}/policies/reload", params={"force": "true"}, headers=AUTH
        ).json()
    assert [r["status"] for r in restored["replicas"]] == ["reloaded"] * 3, restored


def test_failures_seen_on_one_replica_keep_the_others_off_the_dead_model(
    topology: Topology,
) -> None:
    a, b, c = topology.replicas
    simulator = topology.simulator
    dead = "anthropic/claude-3.5-haiku"
    simulator.set_scenario(
        {"zero_latency": True, "models": {dead: {"faults": [{"kind": "error", "status": 503}]}}}
    )
    for _ in range(3):
        complete(a.url, "claude-haiku")  # answered by a fallback; the circuit counts failures

    def open_on(url: str) -> bool:
        health = httpx.get(f"{url}{ADMIN}/health", headers=AUTH).json()
        return "claude-haiku" in health["open_circuits"]

    for replica in (b, c):
        wait_for(partial(open_on, replica.url), 1.0, f"circuit open on {replica.name}")
    simulator.clear()
    for replica in (b, c):
        assert answering_model(replica.url, "claude-haiku") != "claude-haiku"
    assert simulator.attempts(dead) == []  # neither B nor C tried it


def test_requests_through_nginx_spread_over_the_replicas_and_all_succeed(
    topology: Topology,
) -> None:
    count = 30
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: complete(topology.url, "formatter"), range(count)))
    assert [r.status_code for r in answers] == [200] * count
    request_ids = {r.headers["x-request-id"] for r in answers}
    # nginx made each request id, the gateway kept it: nginx's log names the same request.
    # (nginx writes a line once it has sent the answer, so the last ones may come a bit later.)
    wait_for(lambda: set(_served(topology, request_ids)) == request_ids, 5.0, "logged by nginx")
    served = _served(topology, request_ids)
    by_replica = {topology.replica_at(address).name for address in served.values()}
    assert by_replica == {"a", "b", "c"}
    # Every replica's traces land in the one PostgreSQL database: any replica lists them all.
    trace_ids = {r.headers["x-trace-id"] for r in answers}
    wait_for(lambda: _traced(topology, trace_ids) == trace_ids, 5.0, "a trace of every request")


def _served(topology: Topology, request_ids: set[str]) -> dict[str, str]:
    """Request id → the replica address nginx sent it to, for those of ``request_ids`` logged."""
    entries = topology.nginx.access_entries()
    return {e["rid"]: e["upstream"] for e in entries if e["rid"] in request_ids}


def _traced(topology: Topology, trace_ids: set[str]) -> set[str]:
    listed = httpx.get(
        f"{topology.replicas[0].url}{ADMIN}/traces",
        params={"hours": 1, "limit": 500},
        headers=AUTH,
    ).json()
    return {t["trace_id"] for t in listed["traces"]} & trace_ids


def test_a_callers_request_id_passes_through_nginx(topology: Topology) -> None:
    response = complete(topology.url, "formatter", **{"X-Request-ID": "caller-chosen-id-42"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "caller-chosen-id-42"
    chosen = {"caller-chosen-id-42"}
    wait_for(lambda: _served(topology, chosen), 5.0, "logged by nginx")
    assert _served(topology, chosen)["caller-chosen-id-42"] in {
        r.address for r in topology.replicas
    }


def test_a_stream_through_nginx_is_not_buffered(topology: Topology) -> None:
    # The answer stalls after two words for longer than the test waits: nginx must pass the
    # first words on while the stream is open, not hold them until it ends.
    topology.simulator.set_scenario(
        {
            "zero_latency": True,
            "models": {
                "*": {"faults": [{"kind": "stream_stall", "after_tokens": 2, "stall_s": 8}]}
            },
        }
    )
    body: dict[str, Any] = {"model": "formatter", "messages": MESSAGES, "stream": True}
    with (
        httpx.Client(timeout=httpx.Timeout(30, read=5)) as client,
        client.stream("POST", f"{topology.url}/v1/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        first = next(response.iter_raw())
    assert b"data: " in first and b'"content"' in first
    assert b"[DONE]" not in first  # the end had not come: nothing was held back for it
