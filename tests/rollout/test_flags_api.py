"""``PUT /flags`` refuses what is not valid with a 422 naming the field, and applies nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.http.conftest import make_settings
from tests.rollout.app_harness import FLAGS, running_app

from llm_gateway.rollout import current_flags
from llm_gateway.rollout.shadow_budget import shadow_percentage


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"v2_percentage": 150}, "v2_percentage"),
        ({"v2_percentage": "50"}, "v2_percentage"),
        ({"shadow_percentage": -1}, "shadow_percentage"),
        ({"node_percentages": {"writer": 101}}, "node_percentages.writer"),
        ({"node_percentages": {"nosuchnode": 10}}, "node_percentages.nosuchnode"),
        ({"v3_enabled": True}, "v3_enabled"),
        ({}, "flags"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    tmp_path: Path, body: dict[str, object], param: str
) -> None:
    async with running_app(make_settings(tmp_path, DATABASE_URL="")) as (_app, admin):
        before = (await admin.get(FLAGS)).json()
        answer = await admin.put(FLAGS, json=body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["param"] == param
        after = (await admin.get(FLAGS)).json()
        assert {k: v for k, v in after.items() if k != "guard"} == {
            k: v for k, v in before.items() if k != "guard"
        }


async def test_the_env_gives_the_defaults_and_an_admin_change_says_so(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        DATABASE_URL="",
        GATEWAY_V2_ENABLED=True,
        GATEWAY_V2_PERCENTAGE=10,
        GATEWAY_V2_NODE_PERCENTAGES="writer=40",
        GATEWAY_V2_SHADOW_PERCENTAGE=5,
    )
    async with running_app(settings) as (app, admin):
        gateway = app.state.llm_gateway
        assert shadow_percentage(settings, gateway) == 5  # the environment's, until an admin's
        view = (await admin.get(FLAGS)).json()
        assert view["v2_enabled"] is True and view["v2_percentage"] == 10
        assert view["node_percentages"] == {"writer": 40} and view["shadow_percentage"] == 5
        assert set(view["source"].values()) == {"env"} and view["updated_by"] is None
        assert view["guard"]["state"] == "off"
        changed = (await admin.put(FLAGS, json={"node_percentages": {"formatter": 20}})).json()
        flags = changed["flags"]
        assert flags["node_percentages"] == {"formatter": 20} and flags["v2_percentage"] == 10
        assert flags["source"]["node_percentages"] == "admin"
        assert flags["source"]["v2_percentage"] == "env"
        assert flags["updated_by"] and flags["updated_at"]
        await admin.put(FLAGS, json={"shadow_percentage": 40})
        assert shadow_percentage(settings, gateway) == 40  # what shadow traffic reads
        assert current_flags().shadow_percentage == 40


async def test_a_reload_reads_rollout_yaml_again_and_keeps_the_rules_on_a_bad_file(
    tmp_path: Path,
) -> None:
    rules = tmp_path / "rollout.yaml"
    rules.write_text("guard:\n  rules:\n    - error_rate_above_v1: 2\n")
    settings = make_settings(
        tmp_path,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/records.sqlite3",
        GATEWAY_LEDGER_SPOOL_DIR=str(tmp_path / "spool"),
        GATEWAY_ROLLOUT_FILE=rules,
    )
    async with running_app(settings) as (_app, admin):
        guard = (await admin.get(FLAGS)).json()["guard"]
        assert guard["state"] == "watching"
        assert [r["metric"] for r in guard["rules"]] == ["error_rate_above_v1"]

        rules.write_text("guard:\n  rules:\n    - p95_latency_above_v1: 2\n")
        reloaded = (await admin.post("/api/admin/gateway/policies/reload")).json()
        assert reloaded["rollout"]["status"] == "reloaded"
        guard = (await admin.get(FLAGS)).json()["guard"]
        assert [r["metric"] for r in guard["rules"]] == ["p95_latency_above_v1"]

        rules.write_text("guard:\n  rules:\n    - p95_latency_above_v1: -1\n")
        kept = (await admin.post("/api/admin/gateway/policies/reload")).json()
        assert kept["rollout"]["status"] == "kept"
        assert "guard.rules[0].p95_latency_above_v1" in kept["rollout"]["error"]
        assert any("rollout.yaml not reloaded" in w for w in kept["warnings"])
        guard = (await admin.get(FLAGS)).json()["guard"]
        assert [r["metric"] for r in guard["rules"]] == ["p95_latency_above_v1"]
        assert guard["error"] is not None
