"""OpenRouter's wire format, as plain dicts: ``chat.completion`` bodies, ``chat.completion.chunk``
events, ``usage`` with OpenRouter's ``cost``, error bodies and the models list.

Shapes follow OpenAI's Chat Completions API plus OpenRouter's additions (``provider``,
``native_finish_reason``, ``usage.cost``, ``usage.is_byok``, ``usage.cost_details``, the
``{"error": {"code", "message", "metadata"}}`` error body and the mid-stream error chunk).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from llm_gateway.simulator.engine import Answer, TokenUsage
from llm_gateway.simulator.scenario import ModelProfile

_IDS = itertools.count(1)
_ID_PREFIX = os.urandom(3).hex()
PROCESSING_COMMENT = b": OPENROUTER PROCESSING\n\n"
_MARK = "\x00piece\x00"


@dataclass(frozen=True, slots=True)
class ResponseMeta:
    """The fields every response and chunk of one generation repeat."""

    id: str
    created: int
    model: str
    provider: str


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete HTTP answer: ``body`` is a dict (JSON) or raw bytes (a malformed body);
    ``cut`` closes the connection half-way through the body."""

    status: int
    body: dict[str, Any] | bytes
    headers: tuple[tuple[str, str], ...] = ()
    cut: bool = False


def new_meta(profile: ModelProfile) -> ResponseMeta:
    """Fresh ids (``gen-<unix time>-<unique>``, like OpenRouter's) for one generation."""
    now = int(time.time())
    return ResponseMeta(
        f"gen-{now}-{_ID_PREFIX}{next(_IDS):010x}", now, profile.id, profile.provider_name
    )


def usage_dict(usage: TokenUsage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "cost": float(usage.cost),
        "is_byok": False,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "cost_details": {"upstream_inference_cost": None},
    }


def completion_body(meta: ResponseMeta, answer: Answer) -> dict[str, Any]:
    """A non-streaming ``chat.completion`` body."""
    message: dict[str, Any] = {"role": "assistant", "content": answer.text, "refusal": None}
    if answer.tool_call is not None:
        message["content"] = None
        message["tool_calls"] = [
            {
                "id": answer.tool_call.id,
                "type": "function",
                "function": {"name": answer.tool_call.name, "arguments": answer.text},
            }
        ]
    return {
        "id": meta.id,
        "provider": meta.provider,
        "model": meta.model,
        "object": "chat.completion",
        "created": meta.created,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": answer.finish_reason,
                "native_finish_reason": answer.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": usage_dict(answer.usage),
    }


def chunk(
    meta: ResponseMeta, delta: dict[str, Any], finish_reason: str | None = None
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` with a single choice."""
    return {
        "id": meta.id,
        "provider": meta.provider,
        "model": meta.model,
        "object": "chat.completion.chunk",
        "created": meta.created,
        "choices": [
            {
                "index": 0,
                "delta": delta,
                "finish_reason": finish_reason,
                "native_finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
    }


Event = dict[str, Any] | str
"""A stream event: a chunk, or (``str``) a content-only chunk not built yet (see event_dict)."""


def event_dict(meta: ResponseMeta, event: Event) -> dict[str, Any]:
    """The chunk an event stands for."""
    return event if isinstance(event, dict) else chunk(meta, {"content": event})


class TokenTemplate:
    """Bytes of one generation's content-only chunks without a dict per token:
    ``render(piece) == orjson.dumps(chunk(meta, {"content": piece}))`` (built from ``chunk``)."""

    __slots__ = ("_prefix", "_suffix")

    def __init__(self, meta: ResponseMeta) -> None:
        raw = orjson.dumps(chunk(meta, {"content": _MARK}))
        self._prefix, self._suffix = raw.split(orjson.dumps(_MARK), 1)

    def render(self, piece: str) -> bytes:
        return self._prefix + orjson.dumps(piece) + self._suffix


def content_chunks(meta: ResponseMeta, answer: Answer) -> list[Event]:
    """The events that carry the answer: one per token, the first with the role (tool calls: a
    header chunk with id and name, then one per argument piece). An empty answer still gets
    one role chunk. Content-only chunks are left as ``str`` events."""
    call = answer.tool_call
    if call is None:
        if not answer.pieces:
            return [chunk(meta, {"role": "assistant", "content": ""})]
        first, *rest = answer.pieces
        events: list[Event] = [chunk(meta, {"role": "assistant", "content": first})]
        events.extend(rest)
        return events
    header = {
        "index": 0,
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": ""},
    }
    chunks: list[Event] = [
        chunk(meta, {"role": "assistant", "content": None, "tool_calls": [header]})
    ]
    chunks.extend(
        chunk(meta, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        for piece in answer.pieces
    )
    return chunks


def closing_chunks(meta: ResponseMeta, answer: Answer) -> list[Event]:
    """The finish chunk, then the usage chunk (``choices: []``; OpenRouter always sends it)."""
    usage_chunk = {
        "id": meta.id,
        "provider": meta.provider,
        "model": meta.model,
        "object": "chat.completion.chunk",
        "created": meta.created,
        "choices": [],
        "usage": usage_dict(answer.usage),
    }
    return [chunk(meta, {}, answer.finish_reason), usage_chunk]


def error_chunk(meta: ResponseMeta, code: int | str, message: str) -> dict[str, Any]:
    """OpenRouter's mid-stream error event: top-level ``error`` and ``finish_reason: "error"``."""
    event = chunk(meta, {"content": ""}, "error")
    event["error"] = {"code": code, "message": message}
    return event


def error_body(
    code: int | str, message: str, metadata: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """OpenRouter's error body ``{"error": {"code", "message", "metadata"?}}``."""
    error: dict[str, Any] = {"code": code, "message": message}
    if metadata is not None:
        error["metadata"] = dict(metadata)
    return {"error": error}


def models_list(profiles: Iterable[ModelProfile]) -> dict[str, Any]:
    """``GET /models``: OpenRouter's shape (prices in USD per token, as strings), plus the
    ``object``/``owned_by`` fields plain OpenAI clients read."""
    return {"object": "list", "data": [_model_entry(profile) for profile in profiles]}


def _model_entry(profile: ModelProfile) -> dict[str, Any]:
    return {
        "id": profile.id,
        "object": "model",
        "owned_by": profile.id.split("/", 1)[0],
        "name": profile.name,
        "created": 1_700_000_000,
        "description": f"Simulated {profile.name}",
        "context_length": profile.context_length,
        "architecture": {
            "modality": "text->text",
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "tokenizer": "Other",
            "instruct_type": None,
        },
        "pricing": {
            "prompt": _per_token(profile.input_cost_per_1k),
            "completion": _per_token(profile.output_cost_per_1k),
            "input_cache_read": _per_token(profile.cached_input_cost_per_1k),
            "request": "0",
            "image": "0",
        },
        "top_provider": {
            "context_length": profile.context_length,
            "max_completion_tokens": profile.max_completion_tokens,
            "is_moderated": False,
        },
        "per_request_limits": None,
        "supported_parameters": ["max_tokens", "response_format", "stream", "tool_choice", "tools"],
    }


def _per_token(per_1k: Decimal) -> str:
    return format((per_1k / 1000).normalize(), "f")
