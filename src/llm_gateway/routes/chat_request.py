"""Reading a chat request body by hand: orjson, and only the checks the gateway relies on.

The hot path does not build a pydantic model of the request: the body is parsed once with
orjson, the few fields the gateway reads are checked here with a 400 naming the field, and every
other field passes through to the provider untouched.
"""

from __future__ import annotations

from typing import Any

import orjson

from llm_gateway.errors import InvalidRequest

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The body as a dict; 400 (param ``body``) when empty, not JSON or not an object."""
    if not raw:
        raise InvalidRequest("the request body is empty; expected a JSON object", param="body")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(
            f"the request body is not valid JSON ({exc})", param="body", code="invalid_json"
        ) from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object", param="body")
    return body


def check_chat_request(body: dict[str, Any]) -> None:
    """400 naming the first field the gateway cannot work with."""
    _check_messages(body.get("messages"))
    _check_type(body, "model", str)
    _check_type(body, "stream", bool)
    _check_type(body, "user", str)
    _check_type(body, "tools", list)
    _check_type(body, "response_format", dict)
    options = body.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            raise InvalidRequest("'stream_options' must be an object", param="stream_options")
        _check_type(options, "include_usage", bool, prefix="stream_options.")
    for name in ("max_tokens", "max_completion_tokens", "n"):
        value = body.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise InvalidRequest(f"'{name}' must be a positive integer", param=name)
    temperature = body.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, int | float)
    ):
        raise InvalidRequest("'temperature' must be a number", param="temperature")


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty array", param="messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"messages[{index}] must be an object", param=f"messages[{index}]")
        role = message.get("role")
        if role not in ROLES:
            raise InvalidRequest(
                f"messages[{index}].role must be one of {', '.join(sorted(ROLES))}",
                param=f"messages[{index}].role",
            )


_TYPE_NAMES = {str: "a string", bool: "a boolean", list: "an array", dict: "an object"}


def _check_type(body: dict[str, Any], name: str, kind: type, *, prefix: str = "") -> None:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise InvalidRequest(
            f"'{prefix}{name}' must be {_TYPE_NAMES[kind]}", param=f"{prefix}{name}"
        )
