"""The migration guide's Phase 2 "After" snippet and Phase 3 ``WriterAgent``, run as written
(``llm_gateway.`` for ``src.services.``) against the simulator: on the in-process gateway, and
on a served one through ``GATEWAY_URL``.

The guide's ``WriterAgent`` derives from the host application's ``StreamingNode`` and uses a
``messages`` variable and ``SelectionStrategy`` it does not import; the prelude supplies them —
a stand-in base class, or the LangGraph node base of examples/writing_pipeline, under which the
unchanged ``ainvoke`` streams token by token to a graph run in ``messages`` stream mode.
docs/migration.md shows exactly these snippets.
"""

from __future__ import annotations

import asyncio
import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import httpx
import pytest
from langchain_core.messages import AIMessageChunk
from langgraph.graph import END, START, StateGraph
from tests.http.conftest import ADMIN_TOKEN

from llm_gateway.gateway import LLMGateway
from llm_gateway.simulator.testing import SimulatorHandle

MIGRATION_DOC = Path(__file__).resolve().parents[2] / "docs" / "migration.md"

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

# The same, with the example pipeline's StreamingNode: a LangGraph node running execute().
GRAPH_PRELUDE = PRELUDE.replace(
    """class StreamingNode:  # the host application's base class
    def __init__(self, name):
        self.name = name
""",
    "from examples.writing_pipeline.nodes import StreamingNode\n",
)
PROMPT = [{"role": "user", "content": "Write an introduction about capability-aware gateways."}]

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


def recorded_trace(where: str, gateway: LLMGateway, served: str | None, trace_id: str) -> Any:
    """The trace the answering gateway kept of ``trace_id`` (in process, or its admin API)."""
    if where == "inprocess":
        return gateway.tracer.get_trace(trace_id)
    response = httpx.get(
        f"{served}/api/admin/gateway/traces/{trace_id}",
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_phase_3_writer_agent(
    where: str,
    module_simulator: SimulatorHandle,
    process_gateway: LLMGateway,
    request: pytest.FixtureRequest,
) -> None:
    module_simulator.clear()
    namespace = _run(PRELUDE)
    _run(PHASE_3_WRITER, namespace)
    agent = namespace["WriterAgent"]()
    trace_id = f"guide-writer-{where}"
    result = asyncio.run(agent.execute({"trace_id": trace_id}, {}))
    assert result == {"content": module_simulator.answer_for(PROMPT)}
    # The state's trace id, the writer node's requirements and the BALANCED strategy reached
    # the gateway, which chose a model with what the writer requires (node_requirements.yaml).
    served = request.getfixturevalue("served_gateway") if where == "remote" else None
    trace = recorded_trace(where, process_gateway, served, trace_id)
    assert (trace["node_name"], trace["strategy"]) == ("writer", "balanced")
    policy = process_gateway.registry.find_policy(trace["model"])
    assert policy is not None
    assert {"streaming", "creative_writing"} <= set(policy.capabilities)
    assert policy.cost_tier.value in {"LOW", "MEDIUM", "HIGH"}
    assert [attempt.stream for attempt in module_simulator.attempts()] == [False]


class WriterState(TypedDict, total=False):
    trace_id: str
    content: str
    steps: Annotated[list[str], operator.add]


def test_phase_3_writer_agent_streams_as_a_langgraph_node(
    where: str, module_simulator: SimulatorHandle
) -> None:
    """The guide's class, unchanged, as a node of a graph streamed in ``messages`` mode: its
    ``ainvoke`` streams underneath, and every token reaches the graph's caller as it comes."""
    module_simulator.clear()
    namespace = _run(GRAPH_PRELUDE)
    _run(PHASE_3_WRITER, namespace)
    builder = StateGraph(WriterState)
    builder.add_node("writer", namespace["WriterAgent"]())
    builder.add_edge(START, "writer")
    builder.add_edge("writer", END)
    graph = builder.compile()

    async def run() -> tuple[list[str], dict[str, Any]]:
        tokens: list[str] = []
        final: dict[str, Any] = {}
        start = {"trace_id": f"guide-graph-{where}"}
        async for mode, payload in graph.astream(start, stream_mode=["messages", "values"]):
            if mode == "messages" and isinstance(payload[0], AIMessageChunk):
                assert payload[1]["langgraph_node"] == "writer"
                tokens.append(payload[0].text)
            elif mode == "values":
                final = payload
        return tokens, final

    tokens, final = asyncio.run(run())
    expected = module_simulator.answer_for(PROMPT)
    assert final["content"] == expected and final["steps"] == ["writer"]
    assert len([token for token in tokens if token]) > 1
    assert "".join(tokens) == expected
    assert [attempt.stream for attempt in module_simulator.attempts()] == [True]


def _code_lines(snippet: str) -> list[str]:
    """The lines of code (comments and blank lines aside: the doc may word its comments)."""
    lines = (line.rstrip() for line in snippet.splitlines())
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("snippet", [PHASE_2_AFTER, PHASE_3_WRITER], ids=["phase-2", "phase-3"])
def test_the_migration_doc_shows_the_tested_snippets(snippet: str) -> None:
    doc = _code_lines(MIGRATION_DOC.read_text(encoding="utf-8"))
    lines = _code_lines(snippet)
    starts = [i for i, line in enumerate(doc) if line == lines[0]]
    assert any(doc[i : i + len(lines)] == lines for i in starts), "docs/migration.md differs"
