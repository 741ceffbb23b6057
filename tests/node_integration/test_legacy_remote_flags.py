"""A legacy client in another process than the gateway (``GATEWAY_URL`` set) follows the
gateway's live rollout flags: an admin's ``PUT /flags`` turns its next requests to v2 and the
emergency rollback turns them back to v1, within its poll interval, without a restart; its
shadow share is the gateway's too; and ``GET /v1/rollout`` says what is in force."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from tests.http.conftest import AUTH

from llm_gateway.gateway import LLMGateway
from llm_gateway.llm_service import get_llm_client
from llm_gateway.node_integration.loop_thread import background_loop
from llm_gateway.rollout.remote_flags import forget_remote_flags
from llm_gateway.rollout.shadow import shadow_runner
from llm_gateway.rollout.v1_reporter import close_v1_reporters
from llm_gateway.settings import reset_settings_cache
from llm_gateway.simulator.testing import SimulatorHandle

FLAGS = "/api/admin/gateway/flags"


@pytest.fixture
def remote(served_gateway: str, process_gateway: LLMGateway) -> Iterator[str]:
    # process_gateway: this process's own gateway, whose providers the v1 path calls directly
    forget_remote_flags()
    yield served_gateway
    close_v1_reporters(5)  # the v1 calls' records, reported while the gateway still serves
    forget_remote_flags()


def _arm_within(client: object, arm: str, seconds: float = 5.0) -> int:
    """Ask until an answer comes on ``arm``; how many answers it took (bounded)."""
    deadline = time.monotonic() + seconds
    asked = 0
    while True:
        asked += 1
        answer = client.invoke("hi")  # type: ignore[attr-defined]
        if answer.response_metadata["gateway_arm"] == arm:
            return asked
        assert time.monotonic() < deadline, f"still not on {arm} after {asked} requests"
        time.sleep(0.1)


def test_a_remote_legacy_client_follows_the_gateways_flags(
    remote: str, module_simulator: SimulatorHandle
) -> None:
    shown = httpx.get(f"{remote}/v1/rollout", timeout=10)
    assert shown.status_code == 200
    assert shown.json() == {
        "v2_enabled": False,
        "v2_percentage": 0,
        "node_percentages": {},
        "shadow_percentage": 0,
    }
    client = get_llm_client("formatting", "gemini-2.5-flash", gateway_url=remote, user="u-1")
    first = client.invoke("hi")
    assert first.response_metadata["gateway_arm"] == "v1"

    put = httpx.put(
        f"{remote}{FLAGS}", json={"v2_enabled": True, "v2_percentage": 100}, headers=AUTH
    )
    assert put.status_code == 200, put.text
    assert httpx.get(f"{remote}/v1/rollout", timeout=10).json()["v2_percentage"] == 100
    _arm_within(client, "v2")
    module_simulator.clear()
    answer = client.invoke("hi")
    assert answer.response_metadata["gateway_arm"] == "v2"
    assert answer.response_metadata["model_name"] != "gemini-2.5-flash"  # the node's choice

    rollback = httpx.post(f"{remote}{FLAGS}/rollback", json={"reason": "test"}, headers=AUTH)
    assert rollback.status_code == 200, rollback.text
    _arm_within(client, "v1")
    assert httpx.get(f"{remote}/v1/rollout", timeout=10).json()["v2_enabled"] is False


def _shadowed(client: object, gateway: LLMGateway) -> bool:
    """One call; True when it was shadowed (a comparison row made in this process)."""
    runner = shadow_runner(gateway)
    before = len(runner.recent)
    answer = client.invoke("hi")  # type: ignore[attr-defined]
    assert answer.response_metadata["gateway_arm"] == "v1"
    background_loop().run(runner.drain(timeout_s=10))
    return len(runner.recent) > before


def _shadowed_within(client: object, gateway: LLMGateway, wanted: bool) -> None:
    deadline = time.monotonic() + 5.0
    while _shadowed(client, gateway) is not wanted:
        assert time.monotonic() < deadline, f"shadowing still not {wanted}"
        time.sleep(0.1)


def test_a_remote_legacy_client_takes_its_shadow_share_from_the_gateway(
    remote: str,
    process_gateway: LLMGateway,
    module_simulator: SimulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The share of v1 calls shadowed is the served gateway's live ``shadow_percentage``: an
    admin's PUT starts it, the emergency rollback stops it, whatever this process's own
    ``GATEWAY_V2_SHADOW_PERCENTAGE`` says."""
    monkeypatch.setenv("GATEWAY_V2_SHADOW_PERCENTAGE", "100")
    reset_settings_cache()
    try:
        client = get_llm_client("formatting", "gemini-2.5-flash", gateway_url=remote, user="u-9")
        assert not _shadowed(client, process_gateway)  # the gateway's share: 0

        put = httpx.put(f"{remote}{FLAGS}", json={"shadow_percentage": 100}, headers=AUTH)
        assert put.status_code == 200, put.text
        _shadowed_within(client, process_gateway, True)
        row = shadow_runner(process_gateway).recent[-1]
        assert (row.node, row.v1_model, row.v1_ok, row.v2_ok) == (
            "formatter",
            "gemini-2.5-flash",
            True,
            True,
        )

        rollback = httpx.post(f"{remote}{FLAGS}/rollback", json={"reason": "t"}, headers=AUTH)
        assert rollback.status_code == 200, rollback.text
        _shadowed_within(client, process_gateway, False)
        assert not _shadowed(client, process_gateway)
    finally:
        httpx.put(f"{remote}{FLAGS}", json={"pinned": False, "shadow_percentage": 0}, headers=AUTH)
        monkeypatch.undo()
        reset_settings_cache()
