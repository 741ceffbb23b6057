"""Token estimates: multiples of 64, monotonic in text, every content shape, output limits."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_gateway.tokens import (
    DEFAULT_OUTPUT_TOKENS,
    IMAGE_PART_TOKENS,
    TOKEN_GRANULARITY,
    estimate_output_tokens,
    estimate_prompt_tokens,
    round_up_tokens,
    text_tokens,
)


def user(content: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": content}]}


def test_empty_and_small_bodies_estimate_one_unit() -> None:
    assert estimate_prompt_tokens({}) == 64
    assert estimate_prompt_tokens({"messages": []}) == 64
    assert estimate_prompt_tokens(user("hi")) == 64


def test_about_four_characters_per_token() -> None:
    # 4000 chars -> 1000 tokens, + 4 message overhead + 3 priming = 1007 -> 1024
    assert estimate_prompt_tokens(user("abcd" * 1000)) == 1024
    # 4000 chars -> 1000 tokens + 7 overhead; one more token's worth of text still fits in 1024
    assert estimate_prompt_tokens(user("abcd" * 1000 + "x" * 68)) == 1024
    assert estimate_prompt_tokens(user("abcd" * 1000 + "x" * 69)) == 1088


def test_string_and_text_part_contents_count_the_same() -> None:
    text = "lorem ipsum " * 300
    parts = [{"type": "text", "text": text[:1800]}, {"type": "text", "text": text[1800:]}]
    assert estimate_prompt_tokens(user(parts)) == estimate_prompt_tokens(user(text))


def test_images_and_unknown_parts_count_a_fixed_amount_not_their_base64() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 100_000}}
    estimate = estimate_prompt_tokens(user([image]))
    assert estimate == round_up_tokens(IMAGE_PART_TOKENS + 4 + 3)
    audio = {"type": "input_audio", "input_audio": {"data": "B" * 100_000, "format": "wav"}}
    assert estimate_prompt_tokens(user([audio])) < 1000


def test_tools_tool_calls_and_schemas_are_counted() -> None:
    base = user("What is the weather?")
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city. " * 40,
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    assert estimate_prompt_tokens({**base, "tools": [tool]}) > estimate_prompt_tokens(base)
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"d": "y" * 2000}}}
    assert estimate_prompt_tokens({**base, "response_format": schema}) > estimate_prompt_tokens(
        base
    )
    call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{" + "a" * 900}}],
    }
    with_call = {"messages": [*base["messages"], call]}
    assert estimate_prompt_tokens(with_call) >= estimate_prompt_tokens(base) + 192


def test_cjk_text_is_not_underestimated_fourfold() -> None:
    # ~1 token per CJK character in real tokenizers; chars/4 alone would say 250
    assert text_tokens("漢" * 1000) == 1000
    assert text_tokens("abcd" * 250) == 250


def test_odd_shapes_never_raise() -> None:
    odd: list[Any] = [
        {"messages": "not a list"},
        {"messages": [None, 42, "bare string", {"content": {"weird": object()}}]},
        {"messages": [{"content": [None, 3, {"type": "text", "text": None}, "str part"]}]},
        {"messages": [{"role": "user", "content": "x", "name": "bob"}], "tools": [object()]},
        {"messages": [{"role": "user", "content": "\ud800 lone surrogate"}]},
    ]
    for body in odd:
        estimate = estimate_prompt_tokens(body)
        assert estimate > 0 and estimate % TOKEN_GRANULARITY == 0


texts = st.text(max_size=3000)


@given(text=texts, extra=st.text(min_size=1, max_size=500))
def test_prompt_estimate_is_monotonic_in_text_length(text: str, extra: str) -> None:
    assert text_tokens(text + extra) >= text_tokens(text)
    assert estimate_prompt_tokens(user(text + extra)) >= estimate_prompt_tokens(user(text))


@given(messages=st.lists(texts, max_size=8))
def test_prompt_estimate_is_a_positive_multiple_of_64(messages: list[str]) -> None:
    body = {"messages": [{"role": "user", "content": m} for m in messages]}
    estimate = estimate_prompt_tokens(body)
    assert estimate >= TOKEN_GRANULARITY
    assert estimate % TOKEN_GRANULARITY == 0
    assert estimate >= sum(len(m) for m in messages) // 4


@given(st.integers(min_value=-100, max_value=10**9))
def test_round_up_is_the_smallest_covering_multiple(n: int) -> None:
    rounded = round_up_tokens(n)
    assert rounded % TOKEN_GRANULARITY == 0
    assert rounded >= max(n, 1)
    assert rounded - TOKEN_GRANULARITY < max(n, 1)


@pytest.mark.parametrize(
    ("body", "policy_max", "expected"),
    [
        ({}, None, DEFAULT_OUTPUT_TOKENS),
        ({}, 256, 256),
        ({}, 4096, DEFAULT_OUTPUT_TOKENS),
        ({"max_tokens": 2000}, None, 2000),
        ({"max_completion_tokens": 3000, "max_tokens": 2000}, None, 3000),
        ({"max_completion_tokens": 3000}, 1000, 1000),
        ({"max_tokens": 0}, None, DEFAULT_OUTPUT_TOKENS),
        ({"max_tokens": -5}, None, DEFAULT_OUTPUT_TOKENS),
        ({"max_tokens": True}, None, DEFAULT_OUTPUT_TOKENS),
        ({"max_tokens": "100"}, None, DEFAULT_OUTPUT_TOKENS),
        ({"max_tokens": 100}, 0, 100),
    ],
)
def test_output_estimate(body: dict[str, Any], policy_max: int | None, expected: int) -> None:
    assert estimate_output_tokens(body, policy_max) == expected


def test_estimate_never_recurses_without_end_on_deep_nesting() -> None:
    """Lists ~970 deep in content and tools (past orjson's and repr's limits) are estimated,
    not a RecursionError."""
    deep: object = "x"
    for _ in range(5000):
        deep = [deep]
    body = {"messages": [{"role": "user", "content": [deep]}, deep], "tools": deep}
    assert estimate_prompt_tokens(body) >= TOKEN_GRANULARITY
