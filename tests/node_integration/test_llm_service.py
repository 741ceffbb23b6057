"""The legacy shim: the guide's "Before" call returns a chat model; v1 is exactly the named model
direct to its provider (no selection, no retry, no fallback), v2 is the gateway for the purpose's
node; the master switch decides, off by default. The switch's values here are applied as a
run-time change of the live flags (what ``PUT /flags`` does), so each request sees the last."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.language_models import BaseChatModel

from llm_gateway.errors import NotFound, ProviderUnavailable
from llm_gateway.gateway import LLMGateway
from llm_gateway.llm_service import PURPOSE_NODES, get_llm_client, node_for_purpose
from llm_gateway.rollout import choose_arm, flags_from_settings, live_flags, v2_switch_on
from llm_gateway.rollout.flags import FLAG_KIND, ROLLOUT_KEY
from llm_gateway.settings import Settings
from llm_gateway.simulator.testing import SimulatorHandle

BEFORE = """\
# Before (formatter.py)
from llm_gateway.llm_service import get_llm_client
model_client = get_llm_client("formatting", "gemini-2.5-flash")
"""

FLASH_DOWN_ONCE = {
    "zero_latency": True,
    "models": {
        "google/gemini-2.5-flash": {"faults": [{"kind": "error", "status": 503, "times": 1}]}
    },
}


@pytest.fixture
def sim(
    module_simulator: SimulatorHandle, process_gateway: LLMGateway, no_gateway_url: None
) -> Iterator[SimulatorHandle]:
    original = module_simulator.scenario
    module_simulator.clear()
    yield module_simulator
    module_simulator.set_scenario(original)
    live_flags().apply_change(FLAG_KIND, ROLLOUT_KEY, None)


def _switch(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """The flags the master switch's env values would give, live on this process now."""
    env: dict[str, object] = {
        name: int(value) if name == "GATEWAY_V2_PERCENTAGE" else value == "true"
        for name, value in values.items()
    }
    flags = flags_from_settings(Settings(_env_file=None, **env))  # type: ignore[arg-type]
    live_flags().apply_change(FLAG_KIND, ROLLOUT_KEY, flags.model_dump())


def test_the_guides_before_call_returns_a_chat_model_on_v1(
    sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    _switch(monkeypatch)
    namespace: dict[str, object] = {}
    exec(compile(BEFORE, "formatter.py", "exec"), namespace)
    model_client = namespace["model_client"]
    assert isinstance(model_client, BaseChatModel)

    answer = model_client.invoke("Format: a, b")
    assert answer.response_metadata["gateway_arm"] == "v1"
    assert answer.response_metadata["model_name"] == "gemini-2.5-flash"
    assert answer.content == sim.answer_for([{"role": "user", "content": "Format: a, b"}])
    assert [a.model for a in sim.attempts()] == ["google/gemini-2.5-flash"]
    chunks = [c.content for c in model_client.stream("Format: a, b") if c.content]
    assert "".join(chunks) == answer.content and len(chunks) > 1


def test_v1_has_no_retry_or_fallback(sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    _switch(monkeypatch)
    sim.set_scenario(FLASH_DOWN_ONCE)
    with pytest.raises(ProviderUnavailable):
        get_llm_client("formatting", "gemini-2.5-flash").invoke("hi")
    assert [a.model for a in sim.attempts()] == ["google/gemini-2.5-flash"]


def test_v2_goes_through_the_gateway_for_the_purposes_node(
    sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch, process_gateway: LLMGateway
) -> None:
    _switch(monkeypatch, GATEWAY_V2_ENABLED="true", GATEWAY_V2_PERCENTAGE="100")
    sim.set_scenario(FLASH_DOWN_ONCE)
    client = get_llm_client("formatting", "gemini-2.5-flash", trace_id="legacy-v2-1")
    answer = client.invoke("hi")  # the gateway retries or falls back past the 503
    meta = answer.response_metadata
    assert meta["gateway_arm"] == "v2" and meta["trace_id"] == "legacy-v2-1"
    assert client.node_name == "formatter"
    policy = process_gateway.registry.find_policy(meta["model_name"])
    assert policy is not None and "streaming" in policy.capabilities
    streamed = None
    for chunk in client.stream("hi"):
        streamed = chunk if streamed is None else streamed + chunk
    assert streamed is not None and streamed.response_metadata["gateway_arm"] == "v2"


def test_the_arm_is_decided_per_request(
    sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = get_llm_client("writing", "claude-sonnet")
    _switch(monkeypatch)
    assert client.invoke("hi").response_metadata["gateway_arm"] == "v1"
    _switch(monkeypatch, ENABLE_GATEWAY_V2="true")  # the switch alone moves nobody (0 %)
    assert client.invoke("hi").response_metadata["gateway_arm"] == "v1"
    _switch(monkeypatch, ENABLE_GATEWAY_V2="true", GATEWAY_V2_PERCENTAGE="100")
    assert client.invoke("hi").response_metadata["gateway_arm"] == "v2"
    _switch(
        monkeypatch,
        ENABLE_GATEWAY_V2="true",
        GATEWAY_V2_ENABLED="false",
        GATEWAY_V2_PERCENTAGE="100",
    )  # rollback
    assert client.invoke("hi").response_metadata["gateway_arm"] == "v1"


def test_v1_with_an_unknown_model_says_so(
    sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    _switch(monkeypatch)
    with pytest.raises(NotFound, match="unknown model 'gemini-9'"):
        get_llm_client("formatting", "gemini-9").invoke("hi")
    assert sim.attempts() == []


@pytest.mark.parametrize(
    ("values", "switch_on", "arm"),
    [
        ({}, False, "v1"),  # off by default
        # the switch alone: on, but the share defaults to 0 % as in the guide's Settings
        ({"ENABLE_GATEWAY_V2": True}, True, "v1"),
        ({"GATEWAY_V2_ENABLED": True}, True, "v1"),
        ({"GATEWAY_V2_PERCENTAGE": 100}, False, "v1"),  # a share without the switch: nobody
        ({"ENABLE_GATEWAY_V2": True, "GATEWAY_V2_PERCENTAGE": 100}, True, "v2"),
        ({"GATEWAY_V2_ENABLED": True, "GATEWAY_V2_PERCENTAGE": 100}, True, "v2"),
        ({"GATEWAY_V2_ENABLED": False, "GATEWAY_V2_PERCENTAGE": 100}, False, "v1"),
        (
            {"ENABLE_GATEWAY_V2": True, "GATEWAY_V2_ENABLED": False, "GATEWAY_V2_PERCENTAGE": 100},
            False,
            "v1",
        ),
        (
            {"ENABLE_GATEWAY_V2": False, "GATEWAY_V2_ENABLED": True, "GATEWAY_V2_PERCENTAGE": 100},
            False,
            "v1",
        ),
        (
            {"ENABLE_GATEWAY_V2": True, "GATEWAY_V2_ENABLED": True, "GATEWAY_V2_PERCENTAGE": 100},
            True,
            "v2",
        ),
    ],
)
def test_choose_arm_reads_the_master_switch(
    values: dict[str, object], switch_on: bool, arm: str
) -> None:
    settings = Settings(_env_file=None, **values)  # type: ignore[arg-type]
    assert choose_arm("formatting", "user-1", settings) == arm
    assert v2_switch_on(settings) is switch_on


def test_purpose_table() -> None:
    assert node_for_purpose("formatting") == "formatter"
    assert node_for_purpose("Writing") == "writer"
    assert node_for_purpose("translation") == "default"
    assert set(PURPOSE_NODES.values()) <= {
        "writer",
        "formatter",
        "evaluator",
        "search_perplexity",
        "qa_default",
        "citation_master",
    }
