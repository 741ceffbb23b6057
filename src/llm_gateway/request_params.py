"""The scalar parameters of an OpenAI Chat Completions request, in OpenAI's ranges, and
:func:`check_openai_request`, every check of a request body in order.

Numbers must be finite JSON numbers (never NaN or infinity, which ``json.loads`` accepts and
``1e309`` becomes) and integers must fit the bounds below (never an arbitrary-precision integer
an upstream would overflow on). Each failure is a 400 naming the field; see :mod:`.request_shape`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from llm_gateway.request_shape import (
    check_messages,
    check_nesting,
    check_response_format,
    check_tool_choice,
    check_tools,
    fail,
)

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_OUTPUT_TOKENS = 2**31 - 1
MAX_N = 128  # OpenAI's bound on choices per request
MAX_STOP_SEQUENCES = 4
MAX_TOP_LOGPROBS = 20

# name → (low, high): finite numbers, bounds included.
NUMBER_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
}
# name → (low, high): integers (not booleans), bounds included.
INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "max_tokens": (1, MAX_OUTPUT_TOKENS),
    "max_completion_tokens": (1, MAX_OUTPUT_TOKENS),
    "n": (1, MAX_N),
    "seed": (INT64_MIN, INT64_MAX),
    "top_logprobs": (0, MAX_TOP_LOGPROBS),
}
BOOLEAN_FIELDS = ("stream", "logprobs", "parallel_tool_calls", "store")
STRING_FIELDS = ("model", "user")


def check_openai_request(body: Mapping[str, Any]) -> None:
    """400 naming the first field no OpenAI-compatible upstream could process: nesting depth
    first (so no later check meets a deeper body), then messages, these parameters, tools,
    ``tool_choice`` and ``response_format``. The gateway and the simulator both call this."""
    check_nesting(body)
    check_messages(body.get("messages"))
    check_params(body)
    check_tool_choice(body, check_tools(body))
    check_response_format(body)


def check_params(body: Mapping[str, Any]) -> None:
    """400 naming the first scalar parameter out of its type or range."""
    for name in STRING_FIELDS:
        _check_kind(body, name, str, "a string")
    for name in BOOLEAN_FIELDS:
        _check_kind(body, name, bool, "a boolean")
    for name, (low, high) in NUMBER_RANGES.items():
        value = body.get(name)
        if value is not None and not is_number_in(value, low, high):
            raise fail(name, f"must be a number from {low:g} to {high:g}")
    for name, (low, high) in INTEGER_RANGES.items():
        value = body.get(name)
        if value is not None and not is_integer_in(value, low, high):
            raise fail(name, f"must be an integer from {low} to {high}")
    _check_stream_options(body.get("stream_options"))
    _check_stop(body.get("stop"))
    _check_logit_bias(body.get("logit_bias"))


def is_number_in(value: Any, low: float, high: float) -> bool:
    """A JSON number (int or finite float, not a boolean) within [low, high]."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return low <= value <= high  # exact for any size: never converted to float
    return isinstance(value, float) and math.isfinite(value) and low <= value <= high


def is_integer_in(value: Any, low: int, high: int) -> bool:
    """An integer (not a boolean) within [low, high]."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_kind(body: Mapping[str, Any], name: str, kind: type, what: str) -> None:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise fail(name, f"must be {what}")


def _check_stream_options(options: Any) -> None:
    if options is None:
        return
    if not isinstance(options, dict):
        raise fail("stream_options", "must be an object")
    include = options.get("include_usage")
    if include is not None and not isinstance(include, bool):
        raise fail("stream_options.include_usage", "must be a boolean")


def _check_stop(stop: Any) -> None:
    if stop is None or isinstance(stop, str):
        return
    if not isinstance(stop, list) or len(stop) > MAX_STOP_SEQUENCES:
        raise fail("stop", f"must be a string or an array of at most {MAX_STOP_SEQUENCES} strings")
    for index, item in enumerate(stop):
        if not isinstance(item, str):
            raise fail(f"stop[{index}]", "must be a string")


def _check_logit_bias(bias: Any) -> None:
    if bias is None:
        return
    if not isinstance(bias, dict):
        raise fail("logit_bias", "must be an object mapping token ids to numbers")
    for key, value in bias.items():
        if not (key.isascii() and key.isdigit() and len(key) <= 10):
            raise fail("logit_bias", "keys must be token ids (decimal integers)")
        if not is_number_in(value, -100.0, 100.0):
            raise fail(f"logit_bias.{key}", "must be a number from -100 to 100")
