"""Fast token estimates of a Chat Completions request, for selection and budget reservation.

No tokenizer is loaded (none can be downloaded, and one would cost milliseconds per request): the
prompt is estimated at about four characters per token, with a per-message overhead, tool and
schema definitions counted as their JSON text, and fixed amounts for images and other non-text
parts. Text that is not plain ASCII is counted at least one token per three UTF-8 bytes, so CJK
text (about a token per character) is not underestimated by a factor of four.

Prompt estimates are rounded UP to a multiple of :data:`TOKEN_GRANULARITY`, so requests of similar
size share one selection cache entry. The estimate is an approximation, not an upper bound: the
provider's reported usage is what gets billed.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from typing import Any

import orjson

TOKEN_GRANULARITY = 64
DEFAULT_OUTPUT_TOKENS = 512
# OpenAI's counting guide: ~3 tokens of framing per message (4 with a name) plus 3 priming the
# reply; rounded up here to 4 per message.
MESSAGE_OVERHEAD_TOKENS = 4
REPLY_PRIMING_TOKENS = 3
# A 1024x1024 image at high detail (85 base + 4 tiles x 170); low detail is 85.
IMAGE_PART_TOKENS = 765
# Audio, files and part types we do not know: a flat amount rather than their base64 size.
OTHER_PART_TOKENS = 256
# Request fields sent to the model as text besides the messages.
_DEFINITION_FIELDS = ("tools", "functions", "response_format")


def estimate_prompt_tokens(body: Mapping[str, Any]) -> int:
    """Estimated prompt tokens of a Chat Completions ``body``, a positive multiple of 64.

    Counts message contents (strings or content-part lists), names, assistant tool calls, tool
    definitions and ``response_format`` schemas. Never raises on odd shapes, however deep:
    unknown values are counted by their JSON text (a bounded repr past orjson's depth limit).
    """
    tokens = REPLY_PRIMING_TOKENS
    messages = body.get("messages") or ()
    if isinstance(messages, list | tuple):
        for message in messages:
            tokens += _message_tokens(message)
    for name in _DEFINITION_FIELDS:
        value = body.get(name)
        if value:
            tokens += text_tokens(_as_json(value))
    return round_up_tokens(tokens)


def estimate_output_tokens(body: Mapping[str, Any], policy_max: int | None) -> int:
    """Output tokens to plan for: the request's ``max_completion_tokens`` (or the older
    ``max_tokens``) when it is a positive integer, else :data:`DEFAULT_OUTPUT_TOKENS`; never more
    than the model's ``policy_max`` (a model cannot produce more than its output limit)."""
    requested = _positive_int(body.get("max_completion_tokens")) or _positive_int(
        body.get("max_tokens")
    )
    tokens = requested or DEFAULT_OUTPUT_TOKENS
    if policy_max is not None and policy_max > 0:
        tokens = min(tokens, policy_max)
    return tokens


def text_tokens(text: str) -> int:
    """Estimated tokens of one text: ceil(chars / 4), or ceil(UTF-8 bytes / 3) if larger."""
    estimate = (len(text) + 3) // 4
    if not text.isascii():
        utf8 = len(text.encode("utf-8", "surrogatepass"))
        estimate = max(estimate, (utf8 + 2) // 3)
    return estimate


def round_up_tokens(tokens: int) -> int:
    """``tokens`` rounded up to a multiple of :data:`TOKEN_GRANULARITY` (at least one unit)."""
    return max(1, -(-tokens // TOKEN_GRANULARITY)) * TOKEN_GRANULARITY


def _message_tokens(message: Any) -> int:
    if not isinstance(message, Mapping):
        return MESSAGE_OVERHEAD_TOKENS + text_tokens(_as_json(message))
    tokens = MESSAGE_OVERHEAD_TOKENS + _content_tokens(message.get("content"))
    name = message.get("name")
    if isinstance(name, str):
        tokens += 1 + text_tokens(name)
    tool_calls = message.get("tool_calls")
    if tool_calls:
        tokens += text_tokens(_as_json(tool_calls))
    return tokens


def _content_tokens(content: Any) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return text_tokens(content)
    if isinstance(content, list | tuple):
        return sum(_part_tokens(part) for part in content)
    return text_tokens(_as_json(content))


def _part_tokens(part: Any) -> int:
    if isinstance(part, str):
        return text_tokens(part)
    if not isinstance(part, Mapping):
        return text_tokens(_as_json(part))
    kind = part.get("type")
    if kind == "text":
        text = part.get("text")
        return text_tokens(text) if isinstance(text, str) else 0
    if kind == "image_url":
        return IMAGE_PART_TOKENS
    return OTHER_PART_TOKENS


def _as_json(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # orjson.JSONEncodeError is a TypeError: not JSON-shaped, or nested past orjson's limit.
        # reprlib bounds depth and size, so this cannot recurse without end (str() would).
        return reprlib.repr(value)


def _positive_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None
