"""The structure of an OpenAI Chat Completions request: nesting depth, messages, tools,
``tool_choice`` and ``response_format``, checked before anything forwards or reads the body.

Each check raises :class:`~llm_gateway.errors.InvalidRequest` (400) whose ``param`` is the exact
path of the offending field (``messages[2].content[0].type``), and whose message never quotes
more than :func:`~llm_gateway.errors.echo` allows. The rules are OpenAI's (which OpenRouter
follows): what either would refuse is refused here, so a request no upstream can process never
reaches one, nor counts against a model's health. Fields not named here pass through unchecked.
Pure and shared: the HTTP entry points and the simulator call the same functions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from llm_gateway.errors import InvalidRequest, echo

MAX_NESTING_DEPTH = 64
"""Arrays and objects nested deeper than this are refused: no legitimate request needs it, and
recursive code (token estimation, JSON encoders, providers) must never meet a deeper one."""

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
# Content-part types by role family; OpenRouter adds video and file parts to OpenAI's.
USER_PART_TYPES = frozenset({"text", "image_url", "input_audio", "file", "video_url"})
ASSISTANT_PART_TYPES = frozenset({"text", "refusal"})
TEXT_PART_TYPES = frozenset({"text"})
TOOL_CHOICE_MODES = frozenset({"none", "auto", "required"})
RESPONSE_FORMAT_TYPES = frozenset({"text", "json_object", "json_schema"})
_TRAILING_INDEXES = re.compile(r"(\[\d+\])+$")
# OpenAI's rule for function and schema names.
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")

_PARTS_BY_ROLE = {
    "system": TEXT_PART_TYPES,
    "developer": TEXT_PART_TYPES,
    "tool": TEXT_PART_TYPES,
    "function": TEXT_PART_TYPES,
    "user": USER_PART_TYPES,
    "assistant": ASSISTANT_PART_TYPES,
}
# Object-valued fields each part type carries (``{"type": "image_url", "image_url": {...}}``).
_PART_OBJECTS = {"image_url": "url", "input_audio": "data", "file": None, "video_url": "url"}


def fail(param: str, message: str) -> InvalidRequest:
    """The 400 for ``param``: the message is prefixed by the field path."""
    return InvalidRequest(f"{param}: {message}", param=param)


def check_nesting(body: Any, limit: int = MAX_NESTING_DEPTH) -> None:
    """400 naming the first array or object nested more than ``limit`` levels deep.

    Iterative (an explicit stack), so it cannot itself exhaust the interpreter's recursion limit.
    """
    stack: list[tuple[Any, int, str]] = [(body, 0, "")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, dict):
            children: Any = value.items()
        elif isinstance(value, list):
            children = enumerate(value)
        else:
            continue
        if depth >= limit:
            # The field the nesting is in: the path without its trailing run of array indexes.
            where = echo(_TRAILING_INDEXES.sub("", path) or "body")
            raise InvalidRequest(
                f"{where}: nested more than {limit} levels deep", param=where, code="too_deep"
            )
        for key, child in children:
            if isinstance(child, dict | list):
                step = f"[{key}]" if isinstance(key, int) else (f".{key}" if path else str(key))
                stack.append((child, depth + 1, path + step))


def check_messages(messages: Any) -> None:
    """``messages``: a non-empty array of messages, each with a known role and well-formed
    content, tool calls and tool-call ids."""
    if not isinstance(messages, list) or not messages:
        raise fail("messages", "must be a non-empty array")
    for index, message in enumerate(messages):
        _check_message(message, f"messages[{index}]")


def _check_message(message: Any, where: str) -> None:
    if not isinstance(message, dict):
        raise fail(where, "must be an object")
    role = message.get("role")
    if not isinstance(role, str) or role not in ROLES:
        raise fail(f"{where}.role", f"must be one of {', '.join(sorted(ROLES))}")
    content = message.get("content")
    if content is None:
        # Only an assistant turn may be empty (it then carries tool calls or is a prefill).
        if role != "assistant":
            raise fail(f"{where}.content", f"is required for a {role} message")
    elif isinstance(content, list):
        _check_parts(content, _PARTS_BY_ROLE[role], f"{where}.content")
    elif not isinstance(content, str):
        raise fail(f"{where}.content", "must be a string or an array of content parts")
    _optional(message, "name", str, where)
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        raise fail(f"{where}.tool_call_id", "is required (a string) for a tool message")
    tool_calls = message.get("tool_calls")
    if tool_calls is not None:
        if role != "assistant":
            raise fail(f"{where}.tool_calls", "is only allowed on assistant messages")
        _check_tool_calls(tool_calls, f"{where}.tool_calls")


def _check_parts(parts: list[Any], allowed: frozenset[str], where: str) -> None:
    for index, part in enumerate(parts):
        at = f"{where}[{index}]"
        if not isinstance(part, dict):
            raise fail(at, "must be a content part object")
        kind = part.get("type")
        if not isinstance(kind, str) or kind not in allowed:
            raise fail(f"{at}.type", f"must be one of {', '.join(sorted(allowed))}")
        if kind in ("text", "refusal"):
            if not isinstance(part.get(kind), str):
                raise fail(f"{at}.{kind}", "must be a string")
            continue
        inner = part.get(kind)
        if not isinstance(inner, dict):
            raise fail(f"{at}.{kind}", "must be an object")
        needed = _PART_OBJECTS.get(kind)
        if needed is not None and not isinstance(inner.get(needed), str):
            raise fail(f"{at}.{kind}.{needed}", "must be a string")


def _check_tool_calls(tool_calls: Any, where: str) -> None:
    if not isinstance(tool_calls, list):
        raise fail(where, "must be an array")
    for index, call in enumerate(tool_calls):
        at = f"{where}[{index}]"
        if not isinstance(call, dict):
            raise fail(at, "must be an object")
        if not isinstance(call.get("id"), str):
            raise fail(f"{at}.id", "must be a string")
        if call.get("type", "function") != "function":
            raise fail(f"{at}.type", "must be 'function'")
        function = call.get("function")
        if not isinstance(function, dict):
            raise fail(f"{at}.function", "must be an object")
        if not isinstance(function.get("name"), str):
            raise fail(f"{at}.function.name", "must be a string")
        if not isinstance(function.get("arguments"), str):
            raise fail(f"{at}.function.arguments", "must be a string (JSON text)")


def check_tools(body: Mapping[str, Any]) -> frozenset[str]:
    """``tools``: an array of ``{"type": "function", "function": {"name", "description"?,
    "parameters"?, "strict"?}}``. Returns the declared function names."""
    tools = body.get("tools")
    if tools is None:
        return frozenset()
    if not isinstance(tools, list):
        raise fail("tools", "must be an array")
    names: set[str] = set()
    for index, tool in enumerate(tools):
        at = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise fail(at, "must be an object")
        if tool.get("type") != "function":
            raise fail(f"{at}.type", "must be 'function'")
        function = tool.get("function")
        if not isinstance(function, dict):
            raise fail(f"{at}.function", "must be an object")
        name = function.get("name")
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise fail(f"{at}.function.name", "must be 1-64 letters, digits, '_' or '-'")
        _optional(function, "description", str, f"{at}.function")
        _optional(function, "parameters", dict, f"{at}.function")
        _optional(function, "strict", bool, f"{at}.function")
        names.add(name)
    return frozenset(names)


def check_tool_choice(body: Mapping[str, Any], declared: frozenset[str]) -> None:
    """``tool_choice``: ``none``/``auto``/``required``, or ``{"type": "function", "function":
    {"name"}}`` naming a declared tool; ``required`` and a named function need ``tools``."""
    choice = body.get("tool_choice")
    if choice is None:
        return
    if isinstance(choice, str):
        if choice not in TOOL_CHOICE_MODES:
            modes = ", ".join(sorted(TOOL_CHOICE_MODES))
            raise fail("tool_choice", f"must be one of {modes} or a function object")
        if choice == "required" and not declared:
            raise fail("tool_choice", "'required' needs a non-empty 'tools'")
        return
    if not isinstance(choice, dict):
        raise fail("tool_choice", "must be a string or an object")
    if choice.get("type") != "function":
        raise fail("tool_choice.type", "must be 'function'")
    function = choice.get("function")
    if not isinstance(function, dict):
        raise fail("tool_choice.function", "must be an object")
    name = function.get("name")
    if not isinstance(name, str):
        raise fail("tool_choice.function.name", "must be a string")
    if name not in declared:
        raise fail("tool_choice.function.name", f"'{echo(name)}' is not a function of 'tools'")


def check_response_format(body: Mapping[str, Any]) -> None:
    """``response_format``: ``{"type": "text" | "json_object" | "json_schema"}``; a
    ``json_schema`` one carries ``json_schema: {"name", "schema"?, "strict"?, "description"?}``."""
    value = body.get("response_format")
    if value is None:
        return
    if not isinstance(value, dict):
        raise fail("response_format", "must be an object")
    kind = value.get("type")
    if not isinstance(kind, str) or kind not in RESPONSE_FORMAT_TYPES:
        known = ", ".join(sorted(RESPONSE_FORMAT_TYPES))
        raise fail("response_format.type", f"must be one of {known}")
    if kind != "json_schema":
        return
    spec = value.get("json_schema")
    if not isinstance(spec, dict):
        raise fail("response_format.json_schema", "must be an object")
    name = spec.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise fail("response_format.json_schema.name", "must be 1-64 letters, digits, '_' or '-'")
    _optional(spec, "schema", dict, "response_format.json_schema")
    _optional(spec, "strict", bool, "response_format.json_schema")
    _optional(spec, "description", str, "response_format.json_schema")


_KIND_NAMES = {str: "a string", bool: "a boolean", list: "an array", dict: "an object"}


def _optional(container: Mapping[str, Any], name: str, kind: type, where: str) -> None:
    value = container.get(name)
    if value is not None and not isinstance(value, kind):
        raise fail(f"{where}.{name}", f"must be {_KIND_NAMES[kind]}")
