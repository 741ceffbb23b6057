"""The node clients' own behaviour on both backends (in process, and a served gateway): streaming
token by token with callbacks, tool calls round trip, structured output by JSON schema, trace
ids, fallbacks composition, sync calls inside a running loop, the family helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel

from llm_gateway.errors import GatewayError
from llm_gateway.gateway import LLMGateway
from llm_gateway.node_integration import GatewayChatModel, NodeClientFactory
from llm_gateway.node_integration.messages import to_openai_messages
from llm_gateway.simulator.testing import SimulatorHandle

PROMPT = "Write two sentences about gateways."


@pytest.fixture(params=["inprocess", "remote"])
def backend(
    request: pytest.FixtureRequest, process_gateway: LLMGateway, no_gateway_url: None
) -> dict[str, Any]:
    """Client fields selecting the backend under test."""
    if request.param == "inprocess":
        return {"gateway_url": None}
    return {"gateway_url": request.getfixturevalue("served_gateway")}


@pytest.fixture
def scripted(module_simulator: SimulatorHandle) -> Iterator[SimulatorHandle]:
    """The module's simulator; the test may change its scenario, restored afterwards."""
    original = module_simulator.scenario
    module_simulator.clear()
    yield module_simulator
    module_simulator.set_scenario(original)


class Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


@tool
def lookup_city(city: str) -> str:
    """Facts about a city."""
    return f"{city} has a gateway."


def test_stream_is_token_by_token_with_callbacks(
    backend: dict[str, Any], module_simulator: SimulatorHandle
) -> None:
    client = GatewayChatModel(node_name="writer", **backend)
    handler = Tokens()
    chunks = list(client.stream(PROMPT, config={"callbacks": [handler]}))

    answer = module_simulator.answer_for([{"role": "user", "content": PROMPT}])
    words = [c.content for c in chunks if c.content]
    assert "".join(words) == answer  # one chunk per simulated token, in order, nothing lost
    assert len(words) == len(answer.split())
    assert [t for t in handler.tokens if t] == words
    full = chunks[0]
    for chunk in chunks[1:]:
        full += chunk
    assert full.usage_metadata is not None
    assert full.usage_metadata["output_tokens"] == len(words)
    assert full.response_metadata["model_name"]  # the model that answered, once
    assert full.response_metadata["gateway_arm"] == "v2"
    assert full.response_metadata["cost_usd"] > 0


async def test_astream_is_token_by_token(
    backend: dict[str, Any], module_simulator: SimulatorHandle
) -> None:
    client = GatewayChatModel(node_name="writer", **backend)
    words = [c.content async for c in client.astream(PROMPT) if c.content]
    assert "".join(words) == module_simulator.answer_for([{"role": "user", "content": PROMPT}])
    assert len(words) > 1


def test_tool_calls_round_trip(backend: dict[str, Any], module_simulator: SimulatorHandle) -> None:
    client = GatewayChatModel(node_name="writer", **backend).bind_tools([lookup_city])
    question = HumanMessage("Tell me about Lisbon, using the tool.")
    call_message = client.invoke([question])
    [call] = call_message.tool_calls
    assert call["name"] == "lookup_city" and isinstance(call["args"]["city"], str)
    assert call_message.response_metadata["finish_reason"] == "tool_calls"

    streamed = None
    for chunk in client.stream([question]):
        streamed = chunk if streamed is None else streamed + chunk
    assert streamed is not None and streamed.tool_calls == call_message.tool_calls

    result = lookup_city.invoke(call)
    assert isinstance(result, ToolMessage)
    conversation = [question, call_message, result]
    answer = client.invoke(conversation)
    assert not answer.tool_calls
    # The simulator's text is a function of the conversation as it received it (roles, content,
    # tool calls and tool_call_id): equal text means the tool result reached it intact.
    assert answer.content == module_simulator.answer_for(to_openai_messages(conversation))


@pytest.mark.parametrize("name", ["你好啊集团", "こんにちは株式会社 — Ünïcödé"])
def test_unicode_tool_arguments_round_trip(
    backend: dict[str, Any], scripted: SimulatorHandle, name: str
) -> None:
    scripted.set_scenario(
        {"zero_latency": True, "answer": {"tool_arguments": {"lookup_city": {"city": name}}}}
    )
    client = GatewayChatModel(node_name="writer", **backend).bind_tools(
        [lookup_city], tool_choice="lookup_city"
    )
    assert client.invoke("Create it.").tool_calls[0]["args"] == {"city": name}
    streamed = None
    for chunk in client.stream("Create it."):
        streamed = chunk if streamed is None else streamed + chunk
    assert streamed is not None and streamed.tool_calls[0]["args"] == {"city": name}


class Review(BaseModel):
    """A short review."""

    title: str
    stars: int


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_structured_output(backend: dict[str, Any], method: str) -> None:
    client = GatewayChatModel(node_name="writer", **backend)
    review = client.with_structured_output(Review, method=method).invoke("Review a gateway.")
    assert isinstance(review, Review)
    raw = client.with_structured_output(Review, method=method, include_raw=True).invoke("Again.")
    assert isinstance(raw["parsed"], Review) and raw["parsing_error"] is None


def test_trace_id_and_strategy_reach_the_gateway(backend: dict[str, Any]) -> None:
    factory = NodeClientFactory()
    client = factory.create_writer_client(
        node_name="writer", strategy="cost_optimized", trace_id="trace-node-1", **backend
    )
    answer = client.invoke("hi")
    assert answer.response_metadata["trace_id"] == "trace-node-1"
    quality = factory.create_writer_client(strategy="quality_optimized", **backend).invoke("hi")
    assert answer.response_metadata["model_name"] != quality.response_metadata["model_name"]


def test_with_fallbacks_composes(backend: dict[str, Any]) -> None:
    broken = GatewayChatModel(node_name="writer", model="no-such-model", **backend)
    working = GatewayChatModel(node_name="formatter", **backend)
    with pytest.raises(GatewayError, match="no-such-model"):
        broken.invoke("hi")
    answer = broken.with_fallbacks([working], exceptions_to_handle=(GatewayError,)).invoke("hi")
    assert answer.content and answer.response_metadata["model_name"]


async def test_sync_calls_work_inside_a_running_loop(backend: dict[str, Any]) -> None:
    client = GatewayChatModel(node_name="writer", **backend)
    assert client.invoke("hi").content  # the caller's loop is running: not blocked forever
    assert [c for c in client.stream("hi") if c.content]
    assert (await client.ainvoke("hi")).content


def test_family_helpers_make_clients_for_their_nodes() -> None:
    factory = NodeClientFactory()
    assert factory.create_search_client("search_perplexity").node_name == "search_perplexity"
    assert factory.create_qa_client().node_name == "qa_default"
    assert factory.create_citation_client().node_name == "citation_master"
    assert factory.create_evaluator_client().node_name == "evaluator"
    assert factory.create_client("qa_grammar", temperature=0.2, seed=7).model_kwargs == {"seed": 7}
    with pytest.raises(ValueError, match="not a search node"):
        factory.create_search_client("writer")
