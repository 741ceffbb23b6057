"""The pipeline's agent nodes, each a LangGraph node answered through a node client.

``WriterAgent`` keeps the shape of the migration guide's Phase 3 example (a ``StreamingNode``
whose ``execute`` asks ``create_writer_client(node_name="writer",
strategy=SelectionStrategy.BALANCED, trace_id=state.get("trace_id"))``), but streams its answer
token by token instead of ``ainvoke``: LangGraph's ``messages`` stream mode sees every chunk as
the model sends it. Every node returns, besides its output, the name it ran under (``steps``)
and what its call cost as the answer reported it (``calls``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, Field

from examples.writing_pipeline.state import NodeCall, PipelineState
from llm_gateway.node_integration import (
    GatewayChatModel,
    SelectionStrategy,
    get_node_client_factory,
)


class AgentNode:
    """A LangGraph node: runs :meth:`execute` and notes, in ``steps``, that it ran."""

    name = "agent"  # the graph's node
    gateway_node = "default"  # the gateway's node (node_requirements.yaml)

    def __init__(self, name: str | None = None) -> None:
        self.name = name or type(self).name
        self.client_factory = get_node_client_factory()

    async def __call__(self, state: PipelineState, config: RunnableConfig) -> dict[str, Any]:
        update = await self.execute(state, config)
        return {**update, "steps": [self.name]}

    async def execute(self, state: PipelineState, config: RunnableConfig) -> dict[str, Any]:
        raise NotImplementedError

    def call_of(self, answer: AIMessage, chunks: int = 0) -> NodeCall:
        meta = answer.response_metadata
        usage = answer.usage_metadata or {"input_tokens": 0, "output_tokens": 0}
        return NodeCall(
            node=self.name,
            gateway_node=self.gateway_node,
            model=str(meta.get("model_name") or ""),
            input_tokens=int(usage["input_tokens"]),
            output_tokens=int(usage["output_tokens"]),
            cost_usd=meta.get("cost_usd"),
            trace_id=str(meta.get("trace_id") or ""),
            chunks=chunks,
        )


class StreamingNode(AgentNode):
    """A node whose answer streams (the guide's ``WriterAgent`` derives from one)."""

    async def stream_answer(
        self, client: GatewayChatModel, messages: Sequence[BaseMessage], config: RunnableConfig
    ) -> tuple[AIMessageChunk, int]:
        """The whole answer (its chunks added up) and how many chunks it came in."""
        answer: AIMessageChunk | None = None
        chunks = 0
        async for chunk in client.astream(list(messages), config=config):
            answer = chunk if answer is None else answer + chunk
            chunks += 1
        if answer is None:
            raise RuntimeError(f"{self.name}: the stream ended without a chunk")
        return answer, chunks


class SearchAgent(AgentNode):
    """Background notes on the topic from a model with ``web_search``."""

    name = "search"
    gateway_node = "search_perplexity"

    async def execute(self, state: PipelineState, config: RunnableConfig) -> dict[str, Any]:
        client = self.client_factory.create_search_client(
            self.gateway_node, trace_id=state.get("trace_id")
        )
        answer = await client.ainvoke(
            [
                SystemMessage("You research topics for a writer. Answer with short notes."),
                HumanMessage(f"Find the key facts on: {state['topic']}"),
            ],
            config=config,
        )
        return {"notes": answer.text, "calls": [self.call_of(answer)]}


class WriterAgent(StreamingNode):
    """The guide's Phase 3 ``WriterAgent``, streaming (a revision when there is feedback)."""

    name = "writer"
    gateway_node = "writer"

    def __init__(self) -> None:
        super().__init__("writer")
        # NEW: Use capability-aware client factory
        self.client_factory = get_node_client_factory()

    async def execute(self, state: PipelineState, config: RunnableConfig) -> dict[str, Any]:
        # NEW: Request capabilities instead of hardcoding model
        writer_client = self.client_factory.create_writer_client(
            node_name="writer",
            strategy=SelectionStrategy.BALANCED,
            trace_id=state.get("trace_id"),
        )
        messages = writer_messages(state)
        # Token by token: LangGraph's "messages" stream mode passes each chunk on as it arrives.
        response, chunks = await self.stream_answer(writer_client, messages, config)
        return {
            "content": response.text,
            "drafts": state.get("drafts", 0) + 1,
            "calls": [self.call_of(response, chunks)],
        }


def writer_messages(state: PipelineState) -> list[BaseMessage]:
    """The first draft's prompt, or a revision's: the previous draft and the evaluator's words."""
    messages: list[BaseMessage] = [
        SystemMessage("You are an academic writer. Write clear, well-structured prose."),
        HumanMessage(
            f"Write a short article on: {state['topic']}\n\nResearch notes:\n{state['notes']}"
        ),
    ]
    if state.get("feedback"):
        messages += [
            AIMessage(state["content"]),
            HumanMessage(f"Revise the article. Reviewer's feedback: {state['feedback']}"),
        ]
    return messages


class Evaluation(BaseModel):
    """The evaluator's verdict on a draft."""

    score: int = Field(ge=1, le=10, description="Overall quality, from 1 (poor) to 10 (excellent)")
    feedback: str = Field(description="What the next draft should change")


class EvaluatorAgent(AgentNode):
    """Scores the draft (structured output: a forced tool call, parsed into ``Evaluation``)."""

    name = "evaluator"
    gateway_node = "evaluator"

    async def execute(self, state: PipelineState, config: RunnableConfig) -> dict[str, Any]:
        client = self.client_factory.create_evaluator_client(
            self.gateway_node, trace_id=state.get("trace_id")
        )
        judge = client.with_structured_output(Evaluation, include_raw=True)
        result = await judge.ainvoke(
            [
                SystemMessage("You review articles. Score the draft and say what to improve."),
                HumanMessage(f"Topic: {state['topic']}\n\nDraft:\n{state['content']}"),
            ],
            config=config,
        )
        verdict = result["parsed"]
        if not isinstance(verdict, Evaluation):
            raise RuntimeError(f"evaluator: unparsable verdict ({result['parsing_error']})")
        return {
            "score": verdict.score,
            "feedback": verdict.feedback,
            "calls": [self.call_of(result["raw"])],
        }


class FormatterAgent(AgentNode):
    """The final draft as Markdown (the guide's Phase 2 ``create_formatter_client``)."""

    name = "formatter"
    gateway_node = "formatter"

    async def execute(self, state: PipelineState, config: RunnableConfig) -> dict[str, Any]:
        model_client = self.client_factory.create_formatter_client(
            self.gateway_node, trace_id=state.get("trace_id")
        )
        answer = await model_client.ainvoke(
            [
                SystemMessage("Format the article as Markdown with a title and sections."),
                HumanMessage(state["content"]),
            ],
            config=config,
        )
        return {"document": answer.text, "calls": [self.call_of(answer)]}
