"""The OpenAI-compatible API: ``POST /v1/chat/completions`` and ``GET /v1/models``.

The ``model`` field takes a logical model id, a node name (the node's requirements drive
selection) or ``auto``. Optional headers: ``X-Gateway-Node``, ``X-Gateway-Strategy``,
``X-Trace-Id`` (or W3C ``traceparent``). Every answer says which model answered (the body's
``model`` and ``X-Gateway-Model``) and what the gateway itself added (``X-Gateway-Overhead-Ms``:
for a stream, the overhead until the first token; the stream's last comment line before
``[DONE]`` gives the final figures).

The chat endpoint is the hot path: the body is read as bytes and parsed with orjson, checked by
hand (:mod:`.chat_request`), and answered with orjson bytes or a raw SSE stream. Streams end with
``data: [DONE]``, or, when the answer could not be completed, with an in-band error event and no
``[DONE]`` (never a truncated answer that looks complete).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from decimal import Decimal
from typing import Any

import orjson
from fastapi import APIRouter, Request, Security
from starlette.responses import Response

from llm_gateway.cache.directive import parse_cache_header
from llm_gateway.gateway import GatewayStream, LLMGateway, Route
from llm_gateway.rollout.arm import ROLLED_OUT_ARMS, arm_of_header
from llm_gateway.routes.chat_request import parse_json_object, validate_chat_body
from llm_gateway.routes.deps import client_bearer, client_identity, gateway_of, trace_id_of
from llm_gateway.routes.disconnect import until_disconnect
from llm_gateway.routes.openai_schema import (
    OPENAI_SSE,
    ChatCompletion,
    ChatCompletionRequest,
    ErrorResponse,
    ModelList,
    inline_schema,
)
from llm_gateway.routes.responses import RawJSONResponse, raw_headers, read_body
from llm_gateway.routes.route_classes import RawRoute
from llm_gateway.routes.sse import (
    LastFrame,
    SSEResponse,
    comment_frame,
    data_frame,
    in_band_error,
)

DONE = b"data: [DONE]\n\n"

router = APIRouter(tags=["OpenAI-compatible"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in {
        400: "Invalid request (the error's param names the field)",
        401: "Missing or invalid client API key (when keys are configured)",
        404: "Unknown model or node",
        413: "Request body too large",
        422: "No model satisfies the node's requirements",
        429: "Budget exceeded or rate limited",
        502: "Every model of the chain failed",
        503: "Every model of the chain is unavailable",
        504: "Every model of the chain timed out",
    }.items()
}

_GATEWAY_HEADERS = [
    {
        "name": "X-Gateway-Node",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "The agent node asking; its requirements drive selection.",
    },
    {
        "name": "X-Gateway-Strategy",
        "in": "header",
        "required": False,
        "schema": {
            "type": "string",
            "enum": ["balanced", "cost_optimized", "quality_optimized", "latency_optimized"],
        },
    },
    {
        "name": "X-Trace-Id",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "Your trace id (else W3C traceparent's, else a new one); returned.",
    },
    {
        "name": "X-Gateway-Arm",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "enum": list(ROLLED_OUT_ARMS)},
        "description": "The rollout arm a legacy client sent this on (ledger, trace).",
    },
]


async def create_chat_completion(request: Request) -> Response:
    """Chat completion through the gateway: JSON, or SSE when ``stream`` is true."""
    gateway = gateway_of(request)
    key_id = client_identity(request)
    body = parse_json_object(await read_body(request))
    validate_chat_body(body, gateway)
    route = _route(request, gateway, body, key_id)
    if body.get("stream"):
        return await _stream_response(request, gateway, body, route)
    result = await until_disconnect(request.receive, gateway.complete(body, route))
    headers = _answer_headers(
        result.model.logical_id, result.trace_id, result.overhead_ms, result.cost.total
    )
    if result.cache is not None:
        headers["x-gateway-cache"] = result.cache
    headers.update(result.headers)
    return RawJSONResponse(orjson.dumps(result.body), raw_headers(headers))


async def list_models(request: Request) -> Response:
    """Logical models, then ``auto``, then node names: everything the ``model`` field accepts."""
    client_identity(request)
    registry = gateway_of(request).registry
    data: list[dict[str, Any]] = [
        {
            "id": lid,
            "object": "model",
            "created": 0,
            "owned_by": policy.provider,
            "kind": "model",
            "provider_model_id": policy.provider_model_id,
            "context_window": policy.context_window,
            "capabilities": sorted(policy.capabilities),
            "cost_tier": policy.cost_tier.value,
            "pricing": {
                "input_per_1k": str(policy.input_cost_per_1k),
                "output_per_1k": str(policy.output_cost_per_1k),
            },
        }
        for lid, policy in registry.get_all_policies().items()
        if policy.enabled
    ]
    data.append(_gateway_card("auto", "router"))
    data += [
        _gateway_card(node, "node")
        for node in registry.get_all_nodes()
        if not any(ch in node for ch in "*?[")
    ]
    return RawJSONResponse(orjson.dumps({"object": "list", "data": data}))


def _gateway_card(name: str, kind: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "llm-gateway", "kind": kind}


def _route(
    request: Request, gateway: LLMGateway, body: Mapping[str, Any], key_id: str | None
) -> Route:
    headers = request.headers
    user = body.get("user")
    return gateway.resolve_route(
        body.get("model"),
        node=headers.get("x-gateway-node") or None,
        strategy=headers.get("x-gateway-strategy") or None,
        trace_id=trace_id_of(request),
        user_id=user if isinstance(user, str) else None,
        api_key_id=key_id,
        cache=parse_cache_header(
            headers.get("x-gateway-cache"), gateway.settings.GATEWAY_CACHE_MAX_TTL_S
        ),
        traceparent=headers.get("traceparent") if gateway.otel is not None else None,
        arm=arm_of_header(headers.get("x-gateway-arm")),
    )


async def _stream_response(
    request: Request, gateway: LLMGateway, body: dict[str, Any], route: Route
) -> Response:
    stream = gateway.stream(body, route)
    # A GatewayError here is answered as JSON: nothing was sent yet.
    await until_disconnect(request.receive, stream.start())
    assert stream.model is not None
    headers = _answer_headers(stream.model.logical_id, stream.trace_id, stream.overhead_ms, None)
    outcome = getattr(stream, "cache_outcome", None)
    if outcome is not None:
        headers["x-gateway-cache"] = outcome
    headers.update(stream.plan.answer_headers)
    return SSEResponse(_openai_frames(stream), headers)


async def _openai_frames(stream: GatewayStream) -> AsyncGenerator[bytes, None]:
    """``data:`` frames of the stream's chunks, then a summary comment and ``[DONE]``.

    Chunks that arrived together from the provider leave together: while the next chunk is
    already received, frames are batched into one write (never waiting for one that is not).
    """
    batch: list[bytes] = []
    try:
        async for chunk in stream:
            batch.append(data_frame(chunk))
            if "error" in chunk and "choices" not in chunk:
                yield LastFrame(b"".join(batch))
                return  # the stream failed after it began: no [DONE] after an error event
            if not stream.ready():
                yield b"".join(batch)
                batch.clear()
        model = stream.model.logical_id if stream.model else ""
        summary = f"x-gateway model={model} overhead_ms={stream.overhead_ms:.3f}"
        batch.append(comment_frame(summary))
        batch.append(DONE)
        yield LastFrame(b"".join(batch))
    except Exception as exc:  # after the first byte, an error can only be reported in band
        batch.append(data_frame(in_band_error(exc)))
        yield LastFrame(b"".join(batch))
    finally:
        await stream.aclose()


def _answer_headers(
    model: str, trace_id: str, overhead_ms: float, cost: Decimal | None
) -> dict[str, str]:
    headers = {
        "x-gateway-model": model,
        "x-gateway-overhead-ms": f"{overhead_ms:.3f}",
        "x-trace-id": trace_id,
    }
    if cost is not None:
        headers["x-gateway-cost-usd"] = f"{cost:f}"
    return headers


router.add_api_route(
    "/v1/chat/completions",
    create_chat_completion,
    methods=["POST"],
    route_class_override=RawRoute,
    dependencies=[Security(client_bearer)],
    summary="Create a chat completion (OpenAI-compatible)",
    response_model=ChatCompletion,
    responses={
        200: {
            "description": "A chat.completion, or with stream=true an SSE stream of "
            "chat.completion.chunk objects ending with data: [DONE]",
            "content": OPENAI_SSE,
        },
        **_ERRORS,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline_schema(ChatCompletionRequest)}},
        },
        "parameters": _GATEWAY_HEADERS,
    },
)
router.add_api_route(
    "/v1/models",
    list_models,
    methods=["GET"],
    route_class_override=RawRoute,
    dependencies=[Security(client_bearer)],
    summary="List the model ids, nodes and 'auto' that the model field accepts",
    response_model=ModelList,
    responses={401: _ERRORS[401]},
)

HOT_ROUTES = {
    ("POST", "/v1/chat/completions"): create_chat_completion,
    ("GET", "/v1/models"): list_models,
}
"""What ``create_app`` serves through :class:`~llm_gateway.routes.fast_path.FastPath`."""
