"""What a simulated model answers: the request as the simulator sees it, the answer (text, JSON
or a tool call) and its usage and cost. Pure: no clock, no I/O, no state.

The answer text is a function of the conversation *without* a trailing assistant message (and
of the model only when ``answer.vary_by_model`` is set), so a test can compute the full answer
with :func:`answer_for` and check that prefill + continuation equals it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson

from llm_gateway.errors import InvalidRequest
from llm_gateway.request_params import check_openai_request
from llm_gateway.simulator.scenario import AnswerSpec, ModelProfile, Scenario
from llm_gateway.simulator.text import (
    answer_tokens,
    continuation,
    conversation_key,
    derive_key,
    rng_for,
    tokenize,
    value_for_schema,
)


class RequestInvalid(Exception):
    """The request body is not a valid chat completion request (answered with HTTP 400)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A validated chat completion request. ``prefill`` is the content of a trailing assistant
    message (``None`` when the last message is not an assistant's); ``conversation`` is the
    messages without it; ``key`` is the conversation's digest, ``messages_key`` all messages'."""

    body: Mapping[str, Any]
    model: str
    messages: Sequence[Mapping[str, Any]]
    conversation: Sequence[Mapping[str, Any]]
    stream: bool
    prefill: str | None
    max_tokens: int | None
    prompt_tokens: int
    key: bytes
    messages_key: bytes


@dataclass(frozen=True, slots=True)
class TokenUsage:
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    cost: Decimal

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Answer:
    """The answer to send: ``pieces`` are content tokens, or the tool call's argument pieces."""

    pieces: tuple[str, ...]
    finish_reason: str
    usage: TokenUsage
    tool_call: ToolCall | None = None

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def parse_request(body: Any) -> ChatRequest:
    """Validate a chat completion body. Raises RequestInvalid with OpenAI-like messages (each
    malformed body is a 400, as the real services answer, never an exception of the server)."""
    if not isinstance(body, Mapping):
        raise RequestInvalid("request body must be a JSON object")
    model = body.get("model")
    if model is None and isinstance(body.get("models"), list) and body["models"]:
        model = body["models"][0]
    if not isinstance(model, str) or not model:
        raise RequestInvalid("'model' is required")
    try:
        check_openai_request(body)
    except InvalidRequest as exc:
        raise RequestInvalid(exc.message) from None
    messages = body["messages"]
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    last = messages[-1]
    prefill = message_text(last.get("content")) if last["role"] == "assistant" else None
    conversation = messages[:-1] if prefill is not None else messages
    key = conversation_key(conversation)
    return ChatRequest(
        body=body,
        model=model,
        messages=messages,
        conversation=conversation,
        stream=body.get("stream") is True,
        prefill=prefill,
        max_tokens=max_tokens,
        prompt_tokens=_prompt_tokens(messages, body.get("tools")),
        key=key,
        messages_key=key if prefill is None else conversation_key(messages),
    )


def message_text(content: Any) -> str:
    """The text of a message's content (a string, or the text parts of a list)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text") or "")
            for part in content
            if isinstance(part, Mapping) and part.get("type", "text") == "text"
        )
    return ""


def _prompt_tokens(messages: Sequence[Mapping[str, Any]], tools: Any) -> int:
    """≈ characters / 4 of every message's text and tool calls, plus the tool definitions."""
    chars = 0
    for message in messages:
        chars += len(message_text(message.get("content")))
        if message.get("tool_calls"):
            chars += len(orjson.dumps(message["tool_calls"], default=str))
    if tools:
        chars += len(orjson.dumps(tools, default=str))
    return max(1, (chars + 3) // 4)


def answer_for(
    messages: Sequence[Mapping[str, Any]],
    *,
    scenario: Scenario | None = None,
    model: str = "simulated/model",
    response_format: Mapping[str, Any] | None = None,
) -> str:
    """The full answer the simulator gives to ``messages`` (a trailing assistant message is
    ignored), in text or in the JSON of ``response_format``."""
    body: dict[str, Any] = {"model": model, "messages": list(messages)}
    if response_format is not None:
        body["response_format"] = response_format
    spec = (scenario or Scenario()).answer
    return "".join(full_answer_tokens(parse_request(body), spec))


def full_answer_tokens(request: ChatRequest, spec: AnswerSpec) -> tuple[str, ...]:
    """The complete content of the answer to the request's conversation, as tokens."""
    key = derive_key(request.key, request.model) if spec.vary_by_model else request.key
    tokens = answer_tokens(key, spec.min_words, spec.max_words)
    response_format = request.body.get("response_format")
    kind = response_format.get("type") if isinstance(response_format, Mapping) else None
    if kind == "json_object":
        return tokenize(json.dumps({"answer": "".join(tokens)}, ensure_ascii=False))
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}  # type: ignore[union-attr]
        value = value_for_schema(schema, rng_for(key, b"json_schema"))
        return tokenize(json.dumps(value, ensure_ascii=False))
    return tokens


def plan_answer(request: ChatRequest, profile: ModelProfile, spec: AnswerSpec) -> Answer:
    """The answer to send for the request: a tool call when one is due, else the content (the
    remainder after a prefill), truncated to ``max_tokens`` with finish_reason ``length``."""
    tool_call = _tool_call(request, spec)
    if tool_call is not None:
        pieces = tokenize(tool_call.arguments)
        finish = "tool_calls"
    else:
        pieces = _until_stop(_content_pieces(request, spec), request.body.get("stop"))
        finish = "stop"
    limit = min(request.max_tokens or len(pieces), profile.max_completion_tokens or len(pieces))
    if len(pieces) > limit:
        pieces, finish = pieces[:limit], "length"
    return Answer(pieces, finish, usage_for(request, len(pieces), profile), tool_call)


def _content_pieces(request: ChatRequest, spec: AnswerSpec) -> tuple[str, ...]:
    tokens = full_answer_tokens(request, spec)
    prefill = request.prefill
    if prefill is None:
        return tokens
    full = "".join(tokens)
    if full.startswith(prefill):
        return tokenize(full[len(prefill) :])
    return tokenize(continuation(request.key, prefill, spec.min_words, spec.max_words))


def _until_stop(pieces: tuple[str, ...], stop: Any) -> tuple[str, ...]:
    """The answer up to (not including) the first occurrence of a ``stop`` sequence."""
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    text = "".join(pieces)
    cut = min((i for s in stops if s and (i := text.find(s)) >= 0), default=-1)
    if cut < 0:
        return pieces
    kept: list[str] = []
    used = 0
    for piece in pieces:
        if used + len(piece) > cut:
            if cut > used:
                kept.append(piece[: cut - used])
            break
        kept.append(piece)
        used += len(piece)
    return tuple(kept)


def _tool_call(request: ChatRequest, spec: AnswerSpec) -> ToolCall | None:
    """The call to make: the forced function, else (``auto``) the first tool unless the last
    message is a tool result (then the model answers in text, so agent loops end)."""
    tools = request.body.get("tools")
    choice = request.body.get("tool_choice")
    if not isinstance(tools, list) or not tools or choice == "none":
        return None
    functions = [
        tool["function"]
        for tool in tools
        if isinstance(tool, Mapping) and isinstance(tool.get("function"), Mapping)
    ]
    if not functions:
        return None
    chosen = functions[0]
    if isinstance(choice, Mapping):
        wanted = (choice.get("function") or {}).get("name")
        chosen = next((f for f in functions if f.get("name") == wanted), chosen)
    elif choice != "required" and request.conversation[-1].get("role") == "tool":
        return None
    name = str(chosen.get("name") or "function")
    key = derive_key(request.key, "tool:" + name)
    arguments = value_for_schema(chosen.get("parameters") or {}, rng_for(key, b"arguments"))
    if not isinstance(arguments, dict):
        arguments = {}
    arguments.update(spec.tool_arguments.get(name, {}))
    call_id = "call_" + hashlib.blake2b(key, digest_size=12).hexdigest()
    return ToolCall(call_id, name, json.dumps(arguments, ensure_ascii=False))


def usage_for(request: ChatRequest, visible_tokens: int, profile: ModelProfile) -> TokenUsage:
    """Usage and cost (USD) of an answer of ``visible_tokens`` tokens; reasoning tokens are part
    of ``completion_tokens`` and cached prompt tokens are billed at the cached price."""
    prompt = request.prompt_tokens
    cached = int(prompt * profile.cached_prompt_ratio)
    completion = visible_tokens + profile.reasoning_tokens
    prices = (
        profile.input_cost_per_1k,
        profile.cached_input_cost_per_1k,
        profile.output_cost_per_1k,
    )
    cost = _cost(prompt - cached, cached, completion, prices)
    return TokenUsage(prompt, completion, cached, profile.reasoning_tokens, cost)


@lru_cache(maxsize=4096)
def _cost(fresh: int, cached: int, completion: int, prices: tuple[Decimal, ...]) -> Decimal:
    input_price, cached_price, output_price = prices
    return (fresh * input_price + cached * cached_price + completion * output_price) / 1000


def natural_error(request: ChatRequest, profile: ModelProfile) -> str | None:
    """The error a real model gives this request by itself: ``reject_prefill`` or
    ``context_length`` (prompt + max_tokens over the context), else None."""
    if request.prefill is not None and profile.rejects_prefill:
        return "reject_prefill"
    if request.prompt_tokens + (request.max_tokens or 0) > profile.context_length:
        return "context_length"
    return None
