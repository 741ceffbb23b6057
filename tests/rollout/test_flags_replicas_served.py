"""Two served gateway apps sharing the real Redis (a key prefix of the test's own) and one
PostgreSQL record store: a flag change on one applies on the next request of the other
(the arm a key takes, the OpenRouter fallback), the emergency rollback reaches both, and a
replica started afterwards comes up with it (durable)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from tests.http.conftest import AUTH, make_settings
from tests.http.serving import serve
from tests.shared_services import REDIS_URL

from llm_gateway.app import create_app
from llm_gateway.gateway import set_llm_gateway
from llm_gateway.rollout.bucketing import bucket_of
from llm_gateway.routes.deps import reset_process_services
from llm_gateway.simulator.testing import SimulatorHandle, run_simulator

FLAGS = "/api/admin/gateway/flags"
FAILING_MINI = {
    "zero_latency": True,
    "models": {"openai/gpt-4o-mini": {"faults": [{"kind": "error", "status": 503}]}},
}


def _settings(home: Path, sim: SimulatorHandle, pg_url: str, prefix: str) -> object:
    home.mkdir(parents=True, exist_ok=True)
    return make_settings(
        home,
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY="sk-or-rollout-replicas-0000",
        OPENROUTER_BASE_URL=sim.base_url,
        DATABASE_URL=pg_url,
        GATEWAY_LEDGER_SPOOL_DIR=str(home / "spool"),
        REDIS_URL=REDIS_URL,
        GATEWAY_REDIS_PREFIX=prefix,
        GATEWAY_HEARTBEAT_S=0.2,
        GATEWAY_MAX_RETRIES=0,
        GATEWAY_DB_AUTO_MIGRATE=True,
    )


@pytest.fixture
def simulator() -> Iterator[SimulatorHandle]:
    with run_simulator(FAILING_MINI) as handle:
        yield handle


def test_a_flag_change_applies_on_the_next_request_of_every_replica(
    tmp_path: Path, simulator: SimulatorHandle, pg_url: str, redis_prefix: str
) -> None:
    with ExitStack() as stack:
        urls = []
        for name in ("a", "b"):
            settings = _settings(tmp_path / name, simulator, pg_url, redis_prefix)
            url, _ = stack.enter_context(serve(create_app(settings)))  # type: ignore[arg-type]
            urls.append(url)
        stack.callback(reset_process_services)
        stack.callback(set_llm_gateway, None)
        a = stack.enter_context(httpx.Client(base_url=urls[0], headers=AUTH, timeout=30))
        b = stack.enter_context(httpx.Client(base_url=urls[1], headers=AUTH, timeout=30))
        assert b.get(FLAGS).json()["v2_enabled"] is False  # the environment's default

        changed = a.put(FLAGS, json={"v2_enabled": True, "v2_percentage": 30, "reason": "canary"})
        assert changed.status_code == 200, changed.text
        assert (changed.json()["applied_by"], changed.json()["replicas"]) == (2, 2)
        seen = b.get(FLAGS).json()
        assert (seen["v2_percentage"], seen["source"]["v2_percentage"]) == (30, "admin")
        for key in (f"user-{i}" for i in range(200)):
            arm = b.get(f"{FLAGS}/arm", params={"key": key}).json()["arm"]
            assert arm == ("v2" if bucket_of(key) < 3000 else "v1"), key

        # gpt-4o-mini fails upstream; its fallbacks are on OpenRouter too
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
        fell_back = b.post("/v1/chat/completions", json=body)
        assert fell_back.status_code == 200 and fell_back.json()["model"] != "gpt-4o-mini"
        off = a.put(FLAGS, json={"openrouter_fallback_enabled": False})
        assert off.status_code == 200 and off.json()["applied_by"] == 2
        refused = b.post("/v1/chat/completions", json=body)  # the very next request on B
        assert refused.status_code == 503, refused.text

        rolled = b.post(f"{FLAGS}/rollback", json={"reason": "error spike"})
        assert rolled.status_code == 200 and rolled.json()["applied_by"] == 2
        on_a = a.get(FLAGS).json()
        assert (on_a["v2_enabled"], on_a["v2_percentage"], on_a["pinned"]) == (False, 0, True)
        assert on_a["updated_by"] and on_a["guard"]["state"] == "off"
        actions = [e["action"] for e in _audit(a)]
        assert {"flags.set", "flags.rollback"} <= set(actions)

        settings = _settings(tmp_path / "c", simulator, pg_url, redis_prefix)
        url, _ = stack.enter_context(serve(create_app(settings)))  # type: ignore[arg-type]
        later = httpx.get(f"{url}{FLAGS}", headers=AUTH, timeout=30).json()
        assert (later["v2_enabled"], later["pinned"]) == (False, True)


def _audit(client: httpx.Client) -> list[dict[str, object]]:
    answer = client.get("/api/admin/gateway/audit").json()
    return answer["entries"] if isinstance(answer, dict) else answer
