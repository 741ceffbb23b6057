"""Deterministic text: the words of an answer, token splitting, prefill continuations and JSON
values built from a JSON schema. Every function is pure: same arguments, same result, in any
process (seeds come from BLAKE2 digests, never from ``hash()``).
"""

from __future__ import annotations

import hashlib
import random
import re
import uuid
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import orjson

_WORDS = """lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt
    ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco
    laboris nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate
    velit esse cillum fugiat nulla pariatur excepteur sint occaecat cupidatat non proident sunt
    culpa qui officia deserunt mollit anim id est laborum model answer gateway token stream
    river stone garden signal window harbor lantern meadow quiet bright narrow distant
    careful simple steady gentle"""
_VOCABULARY = tuple(_WORDS.split())
_TOKEN = re.compile(r"\s*\S+|\s+")
_MESSAGE_FIELDS = ("role", "content", "name", "tool_calls", "tool_call_id")
_MAX_SCHEMA_DEPTH = 8


def conversation_key(messages: Sequence[Mapping[str, Any]]) -> bytes:
    """A 16-byte digest of the messages' role, content, name and tool fields (key order and
    other fields ignored)."""
    canonical = [
        {field: message.get(field) for field in _MESSAGE_FIELDS if message.get(field) is not None}
        for message in messages
    ]
    payload = orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.blake2b(payload, digest_size=16).digest()


def derive_key(key: bytes, salt: str) -> bytes:
    """A key for another purpose (a model, a tool) derived from a conversation key."""
    return hashlib.blake2b(key + salt.encode(), digest_size=16).digest()


def rng_for(key: bytes, salt: bytes = b"") -> random.Random:
    """A Random seeded from ``key`` (and ``salt``)."""
    digest = hashlib.blake2b(key + salt, digest_size=16).digest() if salt else key
    return random.Random(int.from_bytes(digest, "big"))


@lru_cache(maxsize=8192)
def answer_tokens(key: bytes, min_words: int, max_words: int) -> tuple[str, ...]:
    """The answer for a conversation key, as tokens (one word each, with its leading space)."""
    return tokenize(sentences(rng_for(key), min_words, max_words))


def sentences(rng: random.Random, min_words: int, max_words: int) -> str:
    """Lorem-like sentences of between ``min_words`` and ``max_words`` words, ending with '.'."""
    count = rng.randint(min_words, max_words)
    words = rng.choices(_VOCABULARY, k=count)
    out: list[str] = []
    since_stop = 0
    for index, word in enumerate(words):
        if since_stop == 0:
            word = word.capitalize()
        since_stop += 1
        last = index == count - 1
        if last or (since_stop >= 5 and rng.random() < 0.15):
            word += "."
            since_stop = 0
        elif since_stop >= 3 and rng.random() < 0.06:
            word += ","
        out.append(word)
    return " ".join(out)


def tokenize(text: str) -> tuple[str, ...]:
    """Split text into word tokens, each with its leading whitespace; ``"".join`` restores it."""
    return tuple(_TOKEN.findall(text))


def continuation(key: bytes, prefill: str, min_words: int, max_words: int) -> str:
    """A plausible continuation of ``prefill`` when it is not a prefix of the known answer."""
    rng = rng_for(key, prefill.encode())
    text = sentences(rng, max(1, min_words // 2), max(1, max_words // 2))
    text = text[0].lower() + text[1:]
    if not prefill or prefill[-1].isspace():
        return text
    return " " + text


def value_for_schema(
    schema: Any, rng: random.Random, root: Mapping[str, Any] | None = None, depth: int = 0
) -> Any:
    """A value that validates against a (reasonable) JSON schema: every declared property is
    filled, enums and consts respected, numeric and length bounds honoured (within small caps),
    local ``$ref`` resolved. Total: an unreasonable schema (wrong types, inverted or huge bounds)
    yields some value, never an exception. Unknown constructs yield a string."""
    if not isinstance(schema, Mapping) or depth > _MAX_SCHEMA_DEPTH:
        return None
    root = schema if root is None else root
    if "$ref" in schema:
        return value_for_schema(_resolve_ref(root, schema["$ref"]), rng, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return rng.choice(enum)
    for combinator in ("anyOf", "oneOf", "allOf"):
        choices = schema.get(combinator)
        options = [o for o in choices if _type_of(o) != "null"] if isinstance(choices, list) else []
        if options:
            return value_for_schema(options[0], rng, root, depth + 1)
    kind = _type_of(schema)
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return {}
        return {
            str(name): value_for_schema(sub, rng, root, depth + 1)
            for name, sub in properties.items()
        }
    if kind == "array":
        count = _count(schema.get("minItems"), 1)
        count = min(count, _count(schema.get("maxItems"), count))
        return [value_for_schema(schema.get("items") or {}, rng, root, depth + 1)] * count
    return _scalar(kind, schema, rng)


_MAX_COUNT = 64  # array items and string lengths the simulator generates at most


def _count(value: Any, default: int) -> int:
    """A non-negative count from a schema keyword, capped at :data:`_MAX_COUNT`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return default
    return int(min(max(value, 0), _MAX_COUNT))


def _bound(value: Any, default: float) -> float:
    """A finite numeric bound from a schema keyword, else ``default``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    number = float(min(max(value, -1e15), 1e15))  # also maps infinities; NaN fails below
    return number if number == number else default


def _type_of(schema: Any) -> str:
    if not isinstance(schema, Mapping):
        return "string"
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        if "properties" in schema:
            return "object"
        return "array" if "items" in schema else "string"
    return kind if isinstance(kind, str) else "string"


def _scalar(kind: str, schema: Mapping[str, Any], rng: random.Random) -> Any:
    if kind in ("integer", "number"):
        low = _bound(schema.get("minimum", schema.get("exclusiveMinimum", 0)), 0.0)
        high = _bound(schema.get("maximum", schema.get("exclusiveMaximum")), low + 100)
        high = max(high, low)
        if kind == "integer":
            first = int(low) + ("exclusiveMinimum" in schema)
            return rng.randint(min(first, int(high)), int(high))
        return round(rng.uniform(low, high), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _string(schema, rng)


def _string(schema: Mapping[str, Any], rng: random.Random) -> str:
    fmt = schema.get("format")
    if fmt == "date":
        return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if fmt == "date-time":
        return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:00:00Z"
    if fmt == "email":
        return f"{rng.choice(_VOCABULARY)}@example.com"
    if fmt in ("uri", "url"):
        return f"https://example.com/{rng.choice(_VOCABULARY)}"
    if fmt == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    text = " ".join(rng.choices(_VOCABULARY, k=rng.randint(1, 3)))
    min_length = _count(schema.get("minLength"), 0)
    if len(text) < min_length:
        text = (text + " ") * (min_length // (len(text) + 1) + 1)
    max_length = schema.get("maxLength")
    return text[: _count(max_length, len(text))] if max_length is not None else text


def _resolve_ref(root: Mapping[str, Any], ref: Any) -> Any:
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return {}
    node: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(node, Mapping):
            return {}
        node = node.get(part)
    return node
