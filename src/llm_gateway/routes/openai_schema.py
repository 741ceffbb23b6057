"""Pydantic models that describe the OpenAI-compatible endpoints in the OpenAPI schema.

They document; they do not validate on the hot path (see :mod:`.chat_request`). Every model
allows extra fields, as the wire format does.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(_Open):
    type: str
    message: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """Every error of the gateway: OpenAI's shape."""

    error: ErrorDetail


class ChatMessage(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


class StreamOptions(_Open):
    include_usage: bool = False


class ChatCompletionRequest(_Open):
    """OpenAI Chat Completions request. Unknown fields pass through to the provider."""

    model: str = Field(
        "auto",
        description="A logical model id (GET /v1/models), a node name (its requirements drive "
        "selection) or 'auto' (the node of X-Gateway-Node, else 'default').",
    )
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    temperature: float | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    user: str | None = None


class ResponseMessage(_Open):
    role: str = "assistant"
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class Choice(_Open):
    index: int
    message: ResponseMessage
    finish_reason: str | None = None


class CompletionUsage(_Open):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float | None = Field(None, description="What the answer cost, in USD.")


class ChatCompletion(_Open):
    """A chat.completion. ``model`` is the logical id of the model that answered."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage | None = None


class ChunkChoice(_Open):
    index: int
    delta: dict[str, Any] = Field(description="role, content and/or tool_calls pieces")
    finish_reason: str | None = None


class ChatCompletionChunk(_Open):
    """One ``data:`` event of a streamed answer (``usage`` only on the last, when asked)."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None


def sse_content(
    description: str, events: dict[str, dict[str, Any]], example: str
) -> dict[str, Any]:
    """The ``text/event-stream`` media type of an SSE answer: a string of events whose payloads
    are described, per event name (``data`` for unnamed events), under ``x-sse-events``."""
    return {
        "text/event-stream": {
            "schema": {
                "type": "string",
                "description": description,
                "x-sse-events": events,
                "example": example,
            }
        }
    }


class ModelCard(_Open):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str
    kind: Literal["model", "node", "router"] = Field(
        description="'model': a logical model; 'node': a node name whose requirements drive "
        "selection; 'router': 'auto'."
    )


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


def inline_schema_of(name: str) -> dict[str, Any]:
    """:func:`inline_schema` of a model of this module by name (``Error``: ErrorResponse)."""
    model = ErrorResponse if name == "Error" else globals()[name]
    return inline_schema(model)


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with every ``$defs`` reference inlined (for ``openapi_extra``)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


OPENAI_SSE = sse_content(
    "Server-sent events: one `data:` line per chat.completion.chunk (x-sse-events.data), then "
    "`data: [DONE]`. A failure after the first chunk ends the stream with a `data:` error "
    "object and no [DONE]: never a truncated answer that looks complete.",
    {"data": {"oneOf": [inline_schema_of("ChatCompletionChunk"), inline_schema_of("Error")]}},
    'data: {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, '
    '"model": "claude-sonnet", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}\n\n'
    "data: [DONE]\n\n",
)

_EVENT_OBJECT = {"type": "object", "additionalProperties": True}
NODE_SSE = sse_content(
    "Server-sent events, named: `start` once, `token` per piece of text, `tool_call` per "
    "tool-call delta, then `done`, or `error` instead of done when the answer failed after it "
    "began (never a truncated answer that looks complete).",
    {
        "start": {**_EVENT_OBJECT, "required": ["node_name", "strategy", "trace_id", "model"]},
        "token": {**_EVENT_OBJECT, "required": ["content"]},
        "tool_call": {**_EVENT_OBJECT, "required": ["tool_calls"]},
        "done": {**_EVENT_OBJECT, "required": ["model", "finish_reason", "trace_id"]},
        "error": inline_schema_of("Error"),
    },
    'event: start\ndata: {"node_name": "writer", "strategy": "balanced", "trace_id": "t1", '
    '"model": "claude-sonnet"}\n\nevent: token\ndata: {"content": "Hi"}\n\n'
    'event: done\ndata: {"model": "claude-sonnet", "finish_reason": "stop", "trace_id": "t1"}\n\n',
)
