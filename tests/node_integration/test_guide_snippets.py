"""The migration guide's Phase 2 "After" snippet and Phase 3 ``WriterAgent``, run as written
(``llm_gateway.`` for ``src.services.``) against the simulator: on the in-process gateway, and
on a served one through ``GATEWAY_URL``.

The guide's ``WriterAgent`` derives from the host application's ``StreamingNode`` and uses a
``messages`` variable and ``SelectionStrategy`` it does not import; the prelude supplies them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from llm_gateway.gateway import LLMGateway
from llm_gateway.simulator.testing import SimulatorHandle

PHASE_2_AFTER = """\
# After (formatter.py) 
from llm_gateway.node_integration import get_node_client_factory
client_factory = get_node_client_factory()
model_client = client_factory.create_formatter_client("formatter")
"""  # noqa: W291 - the guide's line ends with a space

PRELUDE = """\
from langchain_core.messages import HumanMessage
from llm_gateway.node_integration import get_node_client_factory, SelectionStrategy

class StreamingNode:  # the host application's base class
    def __init__(self, name):
        self.name = name

messages = [HumanMessage("Write an introduction about capability-aware gateways.")]
"""

PHASE_3_WRITER = """\
# Update writer.py to use new system
# See: backend/src/agent/nodes/writer_migrated.py for full example

class WriterAgent(StreamingNode):
    def __init__(self):
        super().__init__("writer")
        # NEW: Use capability-aware client factory
        self.client_factory = get_node_client_factory()
    
    async def execute(self, state, config):
        # NEW: Request capabilities instead of hardcoding model
        writer_client = self.client_factory.create_writer_client(
            node_name="writer",
            strategy=SelectionStrategy.BALANCED,
            trace_id=state.get("trace_id")
        )
        
        # Rest of logic unchanged
        response = await writer_client.ainvoke(messages)
        return {"content": response.content}
"""  # noqa: W293 - the guide's blank lines carry spaces


def _run(snippet: str, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    namespace = namespace if namespace is not None else {"__name__": "guide"}
    exec(compile(snippet, "guide_snippet.py", "exec"), namespace)
    return namespace


@pytest.fixture(params=["inprocess", "remote"])
def where(
    request: pytest.FixtureRequest, process_gateway: LLMGateway, monkeypatch: pytest.MonkeyPatch
) -> str:
    monkeypatch.delenv("GATEWAY_URL", raising=False)
    if request.param == "remote":
        monkeypatch.setenv("GATEWAY_URL", request.getfixturevalue("served_gateway"))
    return str(request.param)


def test_phase_2_after_snippet(
    where: str, module_simulator: SimulatorHandle, process_gateway: LLMGateway
) -> None:
    module_simulator.clear()
    model_client = _run(PHASE_2_AFTER)["model_client"]
    assert bool(model_client.gateway_url) is (where == "remote")
    answer = model_client.invoke("Format this as a list: a, b")
    assert answer.content
    # a model the formatter node accepts: streaming, at most the MEDIUM tier
    policy = process_gateway.registry.find_policy(answer.response_metadata["model_name"])
    assert policy is not None and "streaming" in policy.capabilities
    assert policy.cost_tier.value in {"LOW", "MEDIUM"}
    assert len(module_simulator.attempts()) == 1


def test_phase_3_writer_agent(where: str, module_simulator: SimulatorHandle) -> None:
    namespace = _run(PRELUDE)
    _run(PHASE_3_WRITER, namespace)
    agent = namespace["WriterAgent"]()
    result = asyncio.run(agent.execute({"trace_id": "guide-writer-1"}, {}))
    expected = module_simulator.answer_for(
        [{"role": "user", "content": "Write an introduction about capability-aware gateways."}]
    )
    assert result == {"content": expected}
