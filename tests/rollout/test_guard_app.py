"""The rollback guard on a real gateway app and record store: v1 rows come from the legacy
path, v2 rows from the gateway; when v2 is made to fail in the simulator the guard steps the
percentage down (100 → 50 → 25), audited as ``rollback-guard``, alerted, shown on ``GET
/flags``; once a person pins the flags it stops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from tests.http.conftest import make_settings
from tests.rollout.app_harness import FLAGS, legacy_call, running_app

from llm_gateway.simulator.testing import arun_simulator
from llm_gateway.storage.schema import ledger

V1_MODEL = "claude-haiku"
RULES = """\
guard:
  window: 10m
  min_requests: 5
  cooldown: 0
  actions: [webhook]
  rules:
    - error_rate_above_v1: 10
"""


def _settings(tmp_path: Path, sim_url: str, **more: Any) -> Any:
    (tmp_path / "rollout.yaml").write_text(RULES)
    return make_settings(
        tmp_path,
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY="sk-or-rollout-0000",
        OPENROUTER_BASE_URL=sim_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/records.sqlite3",
        GATEWAY_LEDGER_SPOOL_DIR=str(tmp_path / "spool"),
        GATEWAY_ROLLOUT_FILE=tmp_path / "rollout.yaml",
        GATEWAY_ROLLOUT_GUARD_INTERVAL_S=3600,  # the test runs the rounds itself
        GATEWAY_FALLBACK_ENABLED=False,
        GATEWAY_MAX_RETRIES=0,
        GATEWAY_ALERTS_WEBHOOK_URL="http://127.0.0.1:9/unused",
        GATEWAY_ALERTS_DELIVERY_ATTEMPTS=1,
        **more,
    )


async def test_the_guard_steps_down_when_v2_fails_and_stops_when_pinned(tmp_path: Path) -> None:
    async with (
        arun_simulator({"zero_latency": True}) as sim,
        running_app(_settings(tmp_path, sim.base_url)) as (app, admin),
    ):
        gateway = app.state.llm_gateway
        service = gateway.rollout
        # v1 evidence: the legacy path, the named model, all fine
        for i in range(8):
            done = await legacy_call(gateway, "formatting", V1_MODEL, f"v1-user-{i}")
            assert not isinstance(done, Exception) and done.arm == "v1"
        streamed = await legacy_call(gateway, "formatting", V1_MODEL, "v1-user-s", stream=True)
        assert not isinstance(streamed, Exception) and streamed.arm == "v1"
        await gateway.records.writer.flush()
        trace = (await admin.get(f"/api/admin/gateway/traces/{done.trace_id}")).json()
        assert trace["arm"] == "v1" and trace["model"] == V1_MODEL, trace
        assert trace["node_name"] == "formatter"
        # v2 at 100 %: every model but the legacy one fails upstream
        put = await admin.put(FLAGS, json={"v2_enabled": True, "v2_percentage": 100})
        assert put.status_code == 200, put.text
        assert put.json()["flags"]["source"]["v2_percentage"] == "admin"
        policies = gateway.registry.get_all_policies()
        faults = {"faults": [{"kind": "error", "status": 503}]}
        sim.set_scenario(
            {
                "zero_latency": True,
                "models": {
                    p.provider_model_id: faults
                    for p in policies.values()
                    if p.logical_id != V1_MODEL
                },
            }
        )
        for i in range(8):
            done = await legacy_call(gateway, "formatting", V1_MODEL, f"v2-user-{i}")
            assert isinstance(done, Exception), done  # v2: the formatter's model fails

        step = await service.tick()
        assert step is not None and (step.before, step.after) == (100, 50)
        view = (await admin.get(FLAGS)).json()
        assert view["v2_percentage"] == 50 and view["updated_by"] == "rollback-guard"
        guard = view["guard"]
        assert guard["state"] == "stepped_down"
        assert guard["last_step"]["from"] == 100 and guard["last_step"]["to"] == 50
        assert guard["evidence"]["v1"]["requests"] == 9
        assert guard["evidence"]["v2"]["error_rate"] == 1.0

        audit = (await admin.get("/api/admin/gateway/audit")).json()
        steps = [e for e in _entries(audit) if e["action"] == "flags.guard_step"]
        assert steps and steps[0]["actor"] == "rollback-guard"
        alerts = (await admin.get("/api/admin/gateway/alerts")).json()
        fired = [i for i in alerts["history"] if i["rule"] == "rollback_guard"]
        assert fired and "100% → 50%" in fired[0]["summary"]

        step = await service.tick()  # cooldown 0: the evidence still says no
        assert step is not None and (step.before, step.after) == (50, 25)

        pin = await admin.put(FLAGS, json={"pinned": True, "reason": "investigating"})
        assert pin.status_code == 200
        assert await service.tick() is None
        view = (await admin.get(FLAGS)).json()
        assert view["v2_percentage"] == 25 and view["guard"]["state"] == "pinned"

        # a remote legacy client says its arm in X-Gateway-Arm (anything else: not recorded)
        body = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
        for arm in ("v2", "v9"):
            await admin.post("/v1/chat/completions", json=body, headers={"x-gateway-arm": arm})

        await gateway.records.writer.flush()
        async with gateway.records.store.engine.connect() as connection:
            rows = (await connection.execute(select(ledger.c.arm, ledger.c.status))).all()
        assert sorted({(str(arm), status) for arm, status in rows}) == [
            ("None", "error"),
            ("v1", "ok"),
            ("v2", "error"),
        ]
        assert [arm for arm, _ in rows].count("v2") == 9


def _entries(audit: Any) -> list[dict[str, Any]]:
    return audit["entries"] if isinstance(audit, dict) else audit
