"""The graph: search → writer → evaluator → formatter, with one way back.

After each evaluation the draft goes back to the writer while its score is under ``min_score``
and the writer has not yet made ``max_revisions`` revisions (default: one); then on to the
formatter. :func:`run_pipeline` runs the graph, passing each streamed writer token to a callback
as it arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from langchain_core.messages import AIMessageChunk
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from examples.writing_pipeline.nodes import (
    AgentNode,
    EvaluatorAgent,
    FormatterAgent,
    SearchAgent,
    WriterAgent,
)
from examples.writing_pipeline.state import PipelineState

NODES: tuple[type[AgentNode], ...] = (SearchAgent, WriterAgent, EvaluatorAgent, FormatterAgent)
# The graph's node → the gateway node whose requirements choose its model
GATEWAY_NODES = {agent.name: agent.gateway_node for agent in NODES}


def build_graph(*, min_score: int = 7, max_revisions: int = 1) -> CompiledStateGraph[Any]:
    """The compiled graph; ``min_score`` (1-10) is the score a draft needs to skip revision."""
    if not 0 <= max_revisions <= 5:
        raise ValueError("max_revisions must be between 0 and 5")

    def after_evaluation(state: PipelineState) -> Literal["writer", "formatter"]:
        revisions = state.get("drafts", 1) - 1
        if state["score"] < min_score and revisions < max_revisions:
            return "writer"
        return "formatter"

    builder = StateGraph(PipelineState)
    for agent in NODES:
        builder.add_node(agent.name, agent())
    builder.add_edge(START, "search")
    builder.add_edge("search", "writer")
    builder.add_edge("writer", "evaluator")
    builder.add_conditional_edges("evaluator", after_evaluation, ["writer", "formatter"])
    builder.add_edge("formatter", END)
    return builder.compile()


@dataclass
class PipelineRun:
    """The final state, and the writer's stream as LangGraph passed it on: chunks per run."""

    state: PipelineState
    writer_chunks: list[int] = field(default_factory=list)


async def run_pipeline(
    graph: CompiledStateGraph[Any],
    topic: str,
    trace_id: str,
    *,
    on_token: Callable[[str], None] | None = None,
    on_step: Callable[[str, dict[str, Any]], None] | None = None,
) -> PipelineRun:
    """Run the graph once; ``on_token`` gets each writer token, ``on_step`` each node's update."""
    run = PipelineRun(state={})
    steps_seen: dict[Any, int] = {}
    start: PipelineState = {"topic": topic, "trace_id": trace_id}
    async for item in graph.astream(start, stream_mode=["messages", "updates", "values"]):
        mode, payload = cast(tuple[str, Any], item)  # several modes: (mode, payload) pairs
        if mode == "messages":
            chunk, meta = payload
            if meta.get("langgraph_node") == "writer" and isinstance(chunk, AIMessageChunk):
                step = meta.get("langgraph_step")
                if step not in steps_seen:
                    steps_seen[step] = len(run.writer_chunks)
                    run.writer_chunks.append(0)
                run.writer_chunks[steps_seen[step]] += 1
                if on_token is not None and chunk.text:
                    on_token(chunk.text)
        elif mode == "updates" and on_step is not None:
            for node, update in payload.items():
                on_step(node, update)
        elif mode == "values":
            run.state = payload
    return run
