"""LangChain messages ↔ the OpenAI Chat Completions wire format the gateway speaks.

Out: :func:`to_openai_messages` (langchain-core's own converter: tool calls, tool results, content
blocks). In: :func:`ai_message` for a whole answer and :func:`ai_chunk` for one stream chunk —
OpenAI ``tool_calls`` become LangChain ``ToolCall`` / ``tool_call_chunks`` (arguments that are
not valid JSON become ``invalid_tool_calls``), ``usage`` becomes ``usage_metadata`` and the
answering model, trace id and cost go into ``response_metadata``.

In a stream, ``model_name``, ``trace_id`` and ``finish_reason`` are set on the finish chunk only
and ``cost_usd`` on the usage chunk only: LangChain concatenates string metadata when it adds
chunks, so each may appear once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.exceptions import OutputParserException
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    convert_to_openai_messages,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.output_parsers.openai_tools import make_invalid_tool_call, parse_tool_call

from llm_gateway.node_integration.backends import Completion, StreamMeta

PROVIDER = "llm-gateway"


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """The conversation as Chat Completions messages.

    An assistant message's content keeps only its text: its ``tool_call`` / ``tool_use`` blocks
    (LangChain's v1 content, Anthropic's) are already in ``tool_calls``, and reasoning blocks
    are not part of the OpenAI format."""
    converted = convert_to_openai_messages(list(messages))
    out = converted if isinstance(converted, list) else [converted]
    for message in out:
        content = message.get("content")
        if message.get("role") == "assistant" and isinstance(content, list):
            message["content"] = "".join(
                str(part.get("text") or "")
                for part in content
                if isinstance(part, dict) and part.get("type") == "text"
            )
    return out


def ai_message(completion: Completion) -> AIMessage:
    """The answer of a whole completion as an ``AIMessage``."""
    body = completion.body
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    tool_calls: list[Any] = []
    invalid: list[Any] = []
    for raw in message.get("tool_calls") or ():
        try:
            parsed = parse_tool_call(raw, return_id=True)
        except OutputParserException as error:
            invalid.append(make_invalid_tool_call(raw, str(error)))
        else:
            if parsed is not None:
                tool_calls.append(parsed)
    metadata: dict[str, Any] = {
        "model_name": completion.model,
        "model_provider": PROVIDER,
        "finish_reason": choice.get("finish_reason"),
        "trace_id": completion.trace_id,
        "cost_usd": completion.cost,
        "gateway_arm": completion.arm,
    }
    return AIMessage(
        content=message.get("content") or "",
        tool_calls=tool_calls,
        invalid_tool_calls=invalid,
        usage_metadata=usage_metadata(body.get("usage")),
        response_metadata=metadata,
        id=body.get("id"),
    )


def ai_chunk(chunk: Mapping[str, Any], meta: StreamMeta) -> AIMessageChunk:
    """One stream chunk as an ``AIMessageChunk`` (content, tool-call pieces, usage)."""
    content = ""
    pieces: list[Any] = []
    metadata: dict[str, Any] = {"model_provider": PROVIDER}
    choices = chunk.get("choices") or ()
    if choices:
        delta = choices[0].get("delta") or {}
        content = delta.get("content") or ""
        for raw in delta.get("tool_calls") or ():
            function = raw.get("function") or {}
            pieces.append(
                tool_call_chunk(
                    name=function.get("name") or None,
                    args=function.get("arguments") or None,
                    id=raw.get("id") or None,
                    index=raw.get("index"),
                )
            )
        finish = choices[0].get("finish_reason")
        if finish:
            metadata.update(
                finish_reason=finish,
                model_name=meta.model,
                trace_id=meta.trace_id,
                gateway_arm=meta.arm,
            )
    usage = chunk.get("usage")
    if isinstance(usage, Mapping) and isinstance(usage.get("cost"), int | float):
        metadata["cost_usd"] = usage["cost"]
    return AIMessageChunk(
        content=content,
        tool_call_chunks=pieces,
        usage_metadata=usage_metadata(usage),
        response_metadata=metadata,
    )


def usage_metadata(usage: Any) -> UsageMetadata | None:
    """OpenAI ``usage`` → LangChain ``usage_metadata`` (with cached and reasoning tokens)."""
    if not isinstance(usage, Mapping):
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    result = UsageMetadata(
        input_tokens=prompt,
        output_tokens=completion,
        total_tokens=int(usage.get("total_tokens") or prompt + completion),
    )
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    if isinstance(cached, int):
        result["input_token_details"] = {"cache_read": cached}
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
    if isinstance(reasoning, int):
        result["output_token_details"] = {"reasoning": reasoning}
    return result
