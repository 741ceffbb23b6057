"""``chat_gateway_router``: node-aware chat for a frontend.

    GET  /api/chat/nodes                 the configured nodes and the model each gets now
    POST /api/chat/{node_name}           one answer as JSON (or SSE when "stream": true)
    POST /api/chat/{node_name}/stream    SSE: start, token…, tool_call…, done | error

The body is ``{"messages", "strategy"?, "trace_id"?, "model"?, "capabilities"?}`` plus any
OpenAI parameter (temperature, max_tokens, tools, response_format, …), passed through. Every
answer carries the node name, the strategy, the trace id and the model that answered. SSE events:

    event: start     {"node_name", "strategy", "trace_id", "model"}
    event: token     {"content"}                       as each piece arrives
    event: tool_call {"tool_calls"}                    tool-call deltas, OpenAI's shape
    event: done      {"model", "finish_reason", "usage", "cost_usd", "overhead_ms", "trace_id"}
    event: error     {"error": {...}}                  instead of done when the answer failed
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from llm_gateway.gateway import GatewayStream, LLMGateway, Route
from llm_gateway.http_errors import JSON
from llm_gateway.model_policy import Capability
from llm_gateway.model_selector import SelectionContext
from llm_gateway.providers.base import Usage
from llm_gateway.request_shape import check_nesting
from llm_gateway.routes.chat_request import parse_json_object, validate_chat_body
from llm_gateway.routes.deps import client_bearer, client_identity, gateway_of, trace_id_of
from llm_gateway.routes.disconnect import until_disconnect
from llm_gateway.routes.openai_schema import NODE_SSE, ChatMessage, ErrorResponse, inline_schema
from llm_gateway.routes.overrides import effective_policies, require_node
from llm_gateway.routes.route_classes import GatewayRoute
from llm_gateway.routes.sse import SSEResponse, event_frame, in_band_error
from llm_gateway.selection.scoring import SelectionStrategy

_CONTROL_FIELDS = {"strategy", "trace_id", "capabilities"}
NODE = Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")


class ChatRequest(BaseModel):
    """A chat turn for a node. Extra fields are OpenAI parameters, passed through."""

    model_config = ConfigDict(extra="allow")

    messages: list[ChatMessage] = Field(min_length=1)
    strategy: SelectionStrategy | None = None
    trace_id: str | None = Field(None, pattern=r"^[A-Za-z0-9._:\-]{1,128}$")
    model: str | None = Field(None, description="Pin a logical model id (else the node decides)")
    capabilities: list[Capability] = Field(default_factory=list)
    stream: bool = False


async def chat_body(request: Request) -> ChatRequest:
    """The body read as ``/v1/chat/completions`` reads it (orjson: no NaN or infinities; 400
    ``invalid_json`` otherwise), nesting bounded before anything walks it, then typed (422
    naming the field). The OpenAI parameters are checked in :func:`_prepare`."""
    body = parse_json_object(await request.body())
    check_nesting(body)
    try:
        return ChatRequest.model_validate(body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False)) from None


CHAT_BODY = Depends(chat_body)
_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": inline_schema(ChatRequest)}},
    }
}


class ChatAnswer(BaseModel):
    node_name: str
    strategy: str
    trace_id: str
    model: str
    content: str | None
    message: dict[str, Any]
    finish_reason: str | None
    usage: dict[str, Any] | None
    cost_usd: str
    overhead_ms: float


chat_gateway_router = APIRouter(
    prefix="/api/chat",
    tags=["chat"],
    route_class=GatewayRoute,
    dependencies=[Depends(client_bearer)],
    responses={s: {"model": ErrorResponse} for s in (400, 401, 404, 422, 429, 502, 503, 504)},
)


class NodesOut(BaseModel):
    nodes: dict[str, dict[str, Any]]


@chat_gateway_router.get("/nodes", response_model=NodesOut, summary="Nodes and their models now")
async def list_nodes(request: Request) -> dict[str, Any]:
    client_identity(request)
    return {"nodes": effective_policies(gateway_of(request))}


@chat_gateway_router.post(
    "/{node_name}",
    response_model=ChatAnswer,
    summary="Chat with a node (JSON, or SSE when stream is true)",
    responses={200: {"content": NODE_SSE}},
    openapi_extra=_BODY_DOC,
)
async def chat(request: Request, node_name: str = NODE, body: ChatRequest = CHAT_BODY) -> Response:
    gateway, route, payload = _prepare(request, node_name, body)
    if body.stream:
        return await _sse(request, gateway, route, payload)
    result = await until_disconnect(request.receive, gateway.complete(payload, route))
    choice = (result.body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    answer = {
        "node_name": route.node_name,
        "strategy": _strategy_name(gateway, route),
        "trace_id": result.trace_id,
        "model": result.model.logical_id,
        "content": message.get("content"),
        "message": message,
        "finish_reason": choice.get("finish_reason"),
        "usage": _usage(result.usage),
        "cost_usd": f"{result.cost.total:f}",
        "overhead_ms": round(result.overhead_ms, 3),
    }
    headers = {"x-gateway-model": result.model.logical_id, "x-trace-id": result.trace_id}
    headers.update(result.headers)
    return Response(orjson.dumps(answer), media_type=JSON, headers=headers)


@chat_gateway_router.post(
    "/{node_name}/stream",
    summary="Stream a node's answer as SSE events",
    responses={200: {"content": NODE_SSE}},
    openapi_extra=_BODY_DOC,
)
async def chat_stream(
    request: Request, node_name: str = NODE, body: ChatRequest = CHAT_BODY
) -> Response:
    gateway, route, payload = _prepare(request, node_name, body)
    return await _sse(request, gateway, route, payload)


def _prepare(
    request: Request, node_name: str, body: ChatRequest
) -> tuple[LLMGateway, Route, dict[str, Any]]:
    key_id = client_identity(request)
    gateway = gateway_of(request)
    require_node(gateway, node_name)
    route = gateway.resolve_route(
        body.model,
        node=node_name,
        strategy=body.strategy.value if body.strategy else None,
        trace_id=body.trace_id or trace_id_of(request),
        user_id=_user(body),
        api_key_id=key_id,
        traceparent=request.headers.get("traceparent") if gateway.otel is not None else None,
    )
    if body.capabilities:
        route = dataclasses.replace(route, capabilities=tuple(c.value for c in body.capabilities))
    payload = body.model_dump(exclude=_CONTROL_FIELDS, exclude_none=True)
    payload.pop("model", None)
    # The same checks as /v1/chat/completions: pydantic parsed the JSON (NaN and 1e309 included)
    # and typed only the gateway's own fields; the OpenAI parameters are checked here.
    validate_chat_body(payload, gateway)
    return gateway, route, payload


async def _sse(
    request: Request, gateway: LLMGateway, route: Route, payload: dict[str, Any]
) -> Response:
    payload["stream"] = True
    payload["stream_options"] = {"include_usage": True}
    stream = gateway.stream(payload, route)
    # A GatewayError here is answered as JSON: nothing was sent yet.
    await until_disconnect(request.receive, stream.start())
    assert stream.model is not None
    start = {
        "node_name": route.node_name,
        "strategy": _strategy_name(gateway, route),
        "trace_id": stream.trace_id,
        "model": stream.model.logical_id,
    }
    headers = {"x-gateway-model": stream.model.logical_id, "x-trace-id": stream.trace_id}
    headers.update(stream.plan.answer_headers)
    return SSEResponse(_events(stream, start), headers)


async def _events(stream: GatewayStream, start: dict[str, Any]) -> AsyncGenerator[bytes, None]:
    try:
        yield event_frame("start", start)
        finish_reason = None
        async for chunk in stream:
            if "error" in chunk and "choices" not in chunk:
                yield event_frame("error", chunk)
                return
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    yield event_frame("token", {"content": delta["content"]})
                if delta.get("tool_calls"):
                    yield event_frame("tool_call", {"tool_calls": delta["tool_calls"]})
                finish_reason = choice.get("finish_reason") or finish_reason
        await stream.aclose()  # settles the cost reported below
        yield event_frame("done", _done(stream, finish_reason))
    except Exception as exc:  # after the first byte, an error can only be reported in band
        yield event_frame("error", in_band_error(exc))
    finally:
        await stream.aclose()


def _done(stream: GatewayStream, finish_reason: str | None) -> dict[str, Any]:
    return {
        "model": stream.model.logical_id if stream.model else None,
        "finish_reason": finish_reason,
        "usage": _usage(stream.usage),
        "cost_usd": f"{stream.cost.total:f}",
        "overhead_ms": round(stream.overhead_ms, 3),
        "trace_id": stream.trace_id,
    }


def _usage(usage: Usage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def _user(body: ChatRequest) -> str | None:
    user = (body.model_extra or {}).get("user")
    return user if isinstance(user, str) else None


def _strategy_name(gateway: LLMGateway, route: Route) -> str:
    """The strategy selection used: the caller's, else the node's default, else balanced."""
    if route.strategy is not None:
        return route.strategy.value
    needs = gateway.selector.requirements_for(SelectionContext(node_name=route.node_name))
    return str(needs.default_strategy or SelectionStrategy.BALANCED.value)
