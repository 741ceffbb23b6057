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
