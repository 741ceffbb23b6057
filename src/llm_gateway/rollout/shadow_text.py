"""The text of an answer, whole or streamed, as the shadow comparison reads it: the message's
content, else its tool calls' names and arguments (an answer that is a tool call is compared by
what it calls with)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from llm_gateway.providers.base import Usage


def output_text(body: Mapping[str, Any]) -> str:
    """The first choice's content, or its tool calls as ``name(arguments)`` lines."""
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        return ""
    message = choices[0].get("message")
    if not isinstance(message, Mapping):
        return ""
    content = message.get("content")
    if isinstance(content, str) and content:
        return content
    return _tool_calls_text(message.get("tool_calls"))


def stream_text(chunks: Iterable[Mapping[str, Any]]) -> tuple[str, Usage | None]:
    """The text a stream's chunks add up to (as :func:`output_text`), and its usage."""
    parts: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    usage: Usage | None = None
    for chunk in chunks:
        if isinstance(chunk.get("usage"), Mapping):
            usage = Usage.from_openai(chunk["usage"])
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
            continue
        delta = choices[0].get("delta")
        if not isinstance(delta, Mapping):
            continue
        if isinstance(delta.get("content"), str):
            parts.append(delta["content"])
        for call in delta.get("tool_calls") or ():
            if isinstance(call, Mapping):
                _merge_call(calls, call)
    text = "".join(parts)
    if text:
        return text, usage
    return _tool_calls_text(
        [{"function": calls[i]} for i in sorted(calls)] if calls else None
    ), usage


def _merge_call(calls: dict[int, dict[str, str]], call: Mapping[str, Any]) -> None:
    given = call.get("index")
    index = given if isinstance(given, int) else len(calls)
    entry = calls.setdefault(index, {"name": "", "arguments": ""})
    function = call.get("function")
    if isinstance(function, Mapping):
        entry["name"] += str(function.get("name") or "")
        entry["arguments"] += str(function.get("arguments") or "")


def _tool_calls_text(tool_calls: Any) -> str:
    if not isinstance(tool_calls, list):
        return ""
    lines = []
    for call in tool_calls:
        function = call.get("function") if isinstance(call, Mapping) else None
        if isinstance(function, Mapping):
            lines.append(f"{function.get('name') or ''}({function.get('arguments') or ''})")
    return "\n".join(lines)
