"""The answer engine, pure: determinism, prefill, tool calls, JSON modes, truncation, usage."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_gateway.simulator.engine import (
    RequestInvalid,
    answer_for,
    natural_error,
    parse_request,
    plan_answer,
)
from llm_gateway.simulator.scenario import AnswerSpec, Scenario
from llm_gateway.simulator.text import tokenize, value_for_schema

USER = [{"role": "user", "content": "Write about rivers."}]
SPEC = AnswerSpec()


def plan(body: dict[str, Any], scenario: Scenario | None = None):
    scenario = scenario or Scenario.for_tests()
    request = parse_request({"model": "openai/gpt-4o", **body})
    return request, plan_answer(request, scenario.profile(request.model), scenario.answer)


def test_answer_is_a_pure_function_of_the_conversation() -> None:
    first = answer_for(USER)
    assert first == answer_for([dict(USER[0])])
    assert first != answer_for([{"role": "user", "content": "Write about stones."}])
    assert first.endswith(".")
    assert SPEC.min_words <= len(first.split()) <= SPEC.max_words


def test_answer_ignores_the_model_unless_the_scenario_varies_it() -> None:
    assert answer_for(USER, model="a/x") == answer_for(USER, model="b/y")
    varied = Scenario.model_validate({"answer": {"vary_by_model": True}})
    assert answer_for(USER, model="a/x", scenario=varied) != answer_for(
        USER, model="b/y", scenario=varied
    )


def test_answer_length_follows_the_scenario() -> None:
    scenario = Scenario.model_validate({"answer": {"min_words": 20, "max_words": 20}})
    _, answer = plan({"messages": USER}, scenario)
    assert len(answer.pieces) == 20
    assert answer.finish_reason == "stop"


def test_prefill_that_matches_continues_with_exactly_the_remainder() -> None:
    full = answer_for(USER)
    for cut in (0, 1, 7, len(full) // 2, len(full) - 1, len(full)):
        prefill = full[:cut]
        _, answer = plan({"messages": [*USER, {"role": "assistant", "content": prefill}]})
        assert prefill + answer.text == full


def test_prefill_that_does_not_match_gets_a_plausible_continuation() -> None:
    prefill = "Once upon a time"
    _, answer = plan({"messages": [*USER, {"role": "assistant", "content": prefill}]})
    assert answer.text.startswith(" ")
    assert len(answer.text.split()) >= 1
    assert not answer_for(USER).startswith(prefill)


def test_trailing_assistant_message_does_not_change_the_full_answer() -> None:
    with_prefill = [*USER, {"role": "assistant", "content": "Anything"}]
    assert answer_for(with_prefill) == answer_for(USER)


def test_max_tokens_truncates_with_finish_reason_length() -> None:
    _, answer = plan({"messages": USER, "max_tokens": 3})
    assert len(answer.pieces) == 3
    assert answer.finish_reason == "length"
    assert answer_for(USER).startswith(answer.text)


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
                "unit": {"type": "string", "enum": ["c", "f"]},
                "hourly": {"type": "boolean"},
            },
            "required": ["city"],
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {
        "name": "search",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
    },
}


def test_tools_get_a_call_to_the_first_tool_with_schema_valid_arguments() -> None:
    _, answer = plan({"messages": USER, "tools": [WEATHER, SEARCH]})
    assert answer.finish_reason == "tool_calls"
    assert answer.tool_call is not None and answer.tool_call.name == "get_weather"
    arguments = json.loads(answer.tool_call.arguments)
    assert set(arguments) == {"city", "days", "unit", "hourly"}
    assert 1 <= arguments["days"] <= 7 and arguments["unit"] in ("c", "f")
    assert isinstance(arguments["hourly"], bool)
    assert answer.tool_call.id.startswith("call_")


def test_tool_choice_picks_the_named_function_and_none_disables_tools() -> None:
    forced = {"type": "function", "function": {"name": "search"}}
    _, answer = plan({"messages": USER, "tools": [WEATHER, SEARCH], "tool_choice": forced})
    assert answer.tool_call is not None and answer.tool_call.name == "search"
    _, answer = plan({"messages": USER, "tools": [WEATHER], "tool_choice": "none"})
    assert answer.tool_call is None and answer.finish_reason == "stop"


def test_scripted_tool_arguments_replace_the_generated_ones() -> None:
    scenario = Scenario.model_validate(
        {"zero_latency": True, "answer": {"tool_arguments": {"get_weather": {"city": "你好"}}}}
    )
    _, generated = plan({"messages": USER, "tools": [WEATHER]})
    _, scripted = plan({"messages": USER, "tools": [WEATHER]}, scenario)
    assert generated.tool_call is not None and scripted.tool_call is not None
    before = json.loads(generated.tool_call.arguments)
    after = json.loads(scripted.tool_call.arguments)
    assert after == {**before, "city": "你好"} and before["city"] != "你好"
    assert "你好" in scripted.tool_call.arguments  # not \u-escaped
    _, other = plan({"messages": USER, "tools": [SEARCH]}, scenario)
    assert other.tool_call is not None and "你好" not in other.tool_call.arguments


@pytest.mark.parametrize("as_list", [True, False])
def test_stop_ends_the_text_before_the_first_stop_sequence(as_list: bool) -> None:
    full = answer_for(USER)
    words = full.split()
    stop = words[3][:2]  # a sequence inside the fourth word (or earlier)
    _, answer = plan({"messages": USER, "stop": [stop, "zzzz-never"] if as_list else stop})
    assert answer.text == full[: full.index(stop)]
    assert answer.finish_reason == "stop"
    assert stop not in answer.text
    _, unchanged = plan({"messages": USER, "stop": ["zzzz-never"]})
    assert unchanged.text == full


def test_after_a_tool_result_auto_answers_in_text_but_required_calls_again() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "search", "arguments": "{}"}}
    messages = [
        *USER,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    _, answer = plan({"messages": messages, "tools": [SEARCH]})
    assert answer.tool_call is None
    _, answer = plan({"messages": messages, "tools": [SEARCH], "tool_choice": "required"})
    assert answer.tool_call is not None


def test_json_object_mode_answers_a_json_object() -> None:
    _, answer = plan({"messages": USER, "response_format": {"type": "json_object"}})
    assert json.loads(answer.text) == {"answer": answer_for(USER)}


def test_json_schema_mode_answers_json_matching_the_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": 10},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "meta": {"$ref": "#/$defs/meta"},
        },
        "$defs": {"meta": {"type": "object", "properties": {"ok": {"type": "boolean"}}}},
    }
    response_format = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    _, answer = plan({"messages": USER, "response_format": response_format})
    value = json.loads(answer.text)
    assert len(value["title"]) <= 10 and len(value["tags"]) == 2
    assert 0 <= value["score"] <= 1 and isinstance(value["meta"]["ok"], bool)
    assert answer.text == answer_for(USER, response_format=response_format)


def test_usage_counts_prompt_characters_and_prices_cached_and_reasoning_tokens() -> None:
    scenario = Scenario.model_validate(
        {
            "zero_latency": True,
            "models": {
                "openai/gpt-4o": {
                    "input_cost_per_1k": "0.002",
                    "output_cost_per_1k": "0.01",
                    "cached_input_cost_per_1k": "0.001",
                    "cached_prompt_ratio": 0.5,
                    "reasoning_tokens": 10,
                }
            },
        }
    )
    messages = [{"role": "user", "content": "x" * 400}]
    request, answer = plan({"messages": messages}, scenario)
    usage = answer.usage
    assert request.prompt_tokens == 100 and usage.cached_tokens == 50
    assert usage.reasoning_tokens == 10
    assert usage.completion_tokens == len(answer.pieces) + 10
    expected = (50 * Decimal("0.002") + 50 * Decimal("0.001")) / 1000 + usage.completion_tokens * (
        Decimal("0.01")
    ) / 1000
    assert usage.cost == expected
    assert usage.total_tokens == 100 + usage.completion_tokens


def test_natural_errors_context_length_and_prefill_rejection() -> None:
    scenario = Scenario.model_validate(
        {"models": {"m/small": {"context_length": 50, "rejects_prefill": True}}}
    )
    profile = scenario.profile("m/small")
    long = parse_request({"model": "m/small", "messages": [{"role": "user", "content": "y" * 400}]})
    assert natural_error(long, profile) == "context_length"
    fits = parse_request({"model": "m/small", "messages": USER, "max_tokens": 10})
    assert natural_error(fits, profile) is None
    prefill = parse_request(
        {"model": "m/small", "messages": [*USER, {"role": "assistant", "content": "A"}]}
    )
    assert natural_error(prefill, profile) == "reject_prefill"


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"messages": USER},
        {"model": "m", "messages": []},
        {"model": "m", "messages": [{"content": "no role"}]},
        {"model": "m", "messages": USER, "max_tokens": 0},
    ],
)
def test_invalid_requests_are_refused(body: Any) -> None:
    with pytest.raises(RequestInvalid):
        parse_request(body)


def test_openrouter_models_field_stands_in_for_model() -> None:
    request = parse_request({"models": ["a/one", "b/two"], "messages": USER})
    assert request.model == "a/one"


@given(st.text(max_size=200))
def test_tokens_join_back_to_the_text(text: str) -> None:
    assert "".join(tokenize(text)) == text


def test_schema_values_are_deterministic_per_seed() -> None:
    schema = WEATHER["function"]["parameters"]
    assert value_for_schema(schema, random.Random(1)) == value_for_schema(schema, random.Random(1))
