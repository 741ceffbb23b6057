"""Every class of configuration error: the message names the file and the key path, exactly as
``llm-gateway validate`` prints it (``file: key.path: message``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.config.configdir import GUIDE_NODES, GUIDE_POLICIES, baseline, issue_lines, model, write

from llm_gateway.config.loader import load_catalog
from llm_gateway.errors import ConfigError

Docs = tuple[dict[str, Any], dict[str, Any]]


def _policies(mutate: Callable[[dict[str, Any]], None]) -> Callable[[], Docs]:
    def build() -> Docs:
        policies, nodes = baseline()
        mutate(policies["policies"])
        return policies, nodes

    return build


def _nodes(mutate: Callable[[dict[str, Any]], None]) -> Callable[[], Docs]:
    def build() -> Docs:
        policies, nodes = baseline()
        mutate(nodes["nodes"])
        return policies, nodes

    return build


def _set(entry: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda section: section[entry].update(fields)


def _add(entry: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda section: section.__setitem__(entry, value)


P = "model_policies.yaml"
N = "node_requirements.yaml"

CASES: dict[str, tuple[Callable[[], Docs], str]] = {
    # phase one: shape and types of one entry
    "unknown field": (
        _policies(_set("alpha", context_windw=5)),
        f"{P}: policies.alpha.context_windw: unknown field 'context_windw'",
    ),
    "missing field": (
        _policies(lambda s: s["alpha"].pop("cost_tier")),
        f"{P}: policies.alpha.cost_tier: Field required",
    ),
    "entry not a mapping": (
        _policies(_add("gamma", 5)),
        f"{P}: policies.gamma: expected a mapping of fields",
    ),
    "entry name not text": (
        _policies(_add(1, model())),  # type: ignore[arg-type]
        f"{P}: policies.1: entry names must be non-empty text",
    ),
    "integer given as text": (
        _policies(_set("alpha", context_window="32000")),
        f"{P}: policies.alpha.context_window: Input should be a valid integer",
    ),
    "integer given as boolean": (
        _nodes(_set("writer", min_context_window=True)),
        f"{N}: nodes.writer.min_context_window: Input should be a valid integer",
    ),
    "flag given as text": (
        _policies(_set("alpha", capabilities={"streaming": "yes"})),
        f"{P}: policies.alpha.capabilities.streaming: Input should be a valid boolean",
    ),
    "price given as text": (
        _policies(_set("alpha", input_cost_per_1k="3e-4")),
        f"{P}: policies.alpha.input_cost_per_1k: expected a number, got the string '3e-4' "
        "(YAML reads 3e-4 as text: write 3.0e-4 or 0.0003, without quotes)",
    ),
    "price not finite": (
        _policies(_set("alpha", output_cost_per_1k=float("inf"))),
        f"{P}: policies.alpha.output_cost_per_1k: Input should be a finite number",
    ),
    "negative price": (
        _policies(_set("beta", input_cost_per_1k=-0.001)),
        f"{P}: policies.beta.input_cost_per_1k: Input should be greater than or equal to 0",
    ),
    "negative cached price": (
        _policies(_set("beta", cached_input_cost_per_1k=-1)),
        f"{P}: policies.beta.cached_input_cost_per_1k: Input should be greater than or equal to 0",
    ),
    "zero context window": (
        _policies(_set("alpha", context_window=0)),
        f"{P}: policies.alpha.context_window: Input should be greater than 0",
    ),
    "negative node context": (
        _nodes(_set("writer", min_context_window=-1)),
        f"{N}: nodes.writer.min_context_window: Input should be greater than or equal to 0",
    ),
    "quality out of range": (
        _policies(_set("alpha", quality_score=1.5)),
        f"{P}: policies.alpha.quality_score: Input should be less than or equal to 1",
    ),
    "unknown capability key": (
        _policies(_set("alpha", capabilities={"telepathy": True})),
        f"{P}: policies.alpha.capabilities.telepathy: unknown value 'telepathy'; expected "
        "'streaming', 'function_calling', 'long_context', 'creative_writing', 'reasoning', "
        "'web_search', 'json_mode', 'vision', 'code', 'fast' or 'prefill'",
    ),
    "unknown capability in a node list": (
        _nodes(_set("writer", preferred_capabilities=["streaming", "telepathy"])),
        f"{N}: nodes.writer.preferred_capabilities[1]: unknown value 'telepathy'; expected "
        "'streaming', 'function_calling', 'long_context', 'creative_writing', 'reasoning', "
        "'web_search', 'json_mode', 'vision', 'code', 'fast' or 'prefill'",
    ),
    "unknown cost tier": (
        _policies(_set("alpha", cost_tier="CHEAP")),
        f"{P}: policies.alpha.cost_tier: unknown value 'CHEAP'; expected "
        "'LOW', 'MEDIUM', 'HIGH' or 'PREMIUM'",
    ),
    "lower-case cost tier": (
        _nodes(_set("writer", max_cost_tier="high")),
        f"{N}: nodes.writer.max_cost_tier: unknown value 'high'; expected "
        "'LOW', 'MEDIUM', 'HIGH' or 'PREMIUM'",
    ),
    "unknown strategy": (
        _nodes(_set("writer", default_strategy="cheapest")),
        f"{N}: nodes.writer.default_strategy: unknown value 'cheapest'; expected "
        "'balanced', 'cost_optimized', 'quality_optimized' or 'latency_optimized'",
    ),
    "deadline not positive": (
        _nodes(_set("writer", deadlines={"first_token_s": 0})),
        f"{N}: nodes.writer.deadlines.first_token_s: Input should be greater than 0",
    ),
    # phase two: cross-references
    "unknown fallback (the issue's example)": (
        _policies(_set("beta", fallback_models=["alpha", "gpt-5"])),
        f"{P}: policies.beta.fallback_models[1]: unknown model 'gpt-5'",
    ),
    "own fallback": (
        _policies(_set("alpha", fallback_models=["beta", "alpha"])),
        f"{P}: policies.alpha.fallback_models[1]: a model cannot be its own fallback",
    ),
    "fallback listed twice": (
        _policies(_set("alpha", fallback_models=["beta", "beta"])),
        f"{P}: policies.alpha.fallback_models[1]: 'beta' is listed twice",
    ),
    "unknown provider": (
        _policies(_set("alpha", provider="acme")),
        f"{P}: policies.alpha.provider: unknown provider 'acme' (known: openrouter, simulated)",
    ),
    "output limit above the window": (
        _policies(_set("alpha", context_window=4000, max_output_tokens=8000)),
        f"{P}: policies.alpha.max_output_tokens: 8000 exceeds context_window 4000",
    ),
    "cached price above the price": (
        _policies(_set("alpha", cached_input_cost_per_1k=0.5)),
        f"{P}: policies.alpha.cached_input_cost_per_1k: 0.5 is above input_cost_per_1k 0.0001",
    ),
    "unknown default model": (
        _nodes(_set("writer", default_model="gpt-5")),
        f"{N}: nodes.writer.default_model: unknown model 'gpt-5'",
    ),
    "default model outside the node's requirements": (
        _nodes(_set("evaluator", default_model="alpha")),
        f"{N}: nodes.evaluator.default_model: 'alpha' fails: "
        "reasoning required (reasoning_required: true)",
    ),
    "node nobody can serve": (
        _nodes(_add("search_web", {"required_capabilities": ["web_search"]})),
        f"{N}: nodes.search_web: no model satisfies this node (alpha: missing capabilities "
        "web_search; beta: missing capabilities web_search)",
    ),
    "node above every tier": (
        _nodes(_add("tiny", {"min_context_window": 10**6, "max_cost_tier": "LOW"})),
        f"{N}: nodes.tiny: no model satisfies this node (alpha: context window 128000 < "
        "required 1000000; beta: context window 128000 < required 1000000, cost tier HIGH "
        "above max LOW)",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_error_names_file_and_key_path(tmp_path: Path, case: str) -> None:
    build, expected = CASES[case]
    policies, nodes = build()
    assert issue_lines(write(tmp_path, policies, nodes)) == [expected]


PROVIDER_CASES = {
    "openai-compatible without base_url": (
        {"kind": "openai_compatible"},
        f"{P}: providers.local.base_url: required for a provider of kind 'openai_compatible'",
    ),
    "base_url not http": (
        {"base_url": "ftp://example"},
        f"{P}: providers.local.base_url: String should match pattern '^https?://\\S+$'",
    ),
    "unknown provider kind": (
        {"kind": "grpc", "base_url": "http://127.0.0.1:9"},
        f"{P}: providers.local.kind: unknown value 'grpc'; expected "
        "'openai_compatible', 'openrouter' or 'simulated'",
    ),
    "invalid key variable name": (
        {"base_url": "http://127.0.0.1:9", "api_key_env": "MY-KEY"},
        f"{P}: providers.local.api_key_env: String should match pattern '^[A-Za-z_][A-Za-z0-9_]*$'",
    ),
}


@pytest.mark.parametrize("case", sorted(PROVIDER_CASES))
def test_provider_errors_name_file_and_key_path(tmp_path: Path, case: str) -> None:
    spec, expected = PROVIDER_CASES[case]
    policies, nodes = baseline()
    policies["providers"] = {"local": spec}
    policies["policies"]["alpha"]["provider"] = "local"
    assert issue_lines(write(tmp_path, policies, nodes)) == [expected]


def test_configured_provider_is_known(tmp_path: Path) -> None:
    policies, nodes = baseline()
    policies["providers"] = {"local": {"base_url": "http://127.0.0.1:9/v1", "api_key_env": "K"}}
    policies["policies"]["alpha"]["provider"] = "local"
    catalog = load_catalog(write(tmp_path, policies, nodes))
    assert catalog.providers["local"].base_url == "http://127.0.0.1:9/v1"
    assert catalog.providers["local"].api_key_env == "K"


FILE_CASES: dict[str, tuple[str | None, str | None, list[str]]] = {
    "invalid YAML": (
        "policies:\n  alpha: [unclosed\n",
        None,
        [f"{P}: line 3, column 1: invalid YAML: expected ',' or ']', but got '<stream end>'"],
    ),
    "top level is a list": (None, "- writer\n", [f"{N}: expected a mapping at the top level"]),
    "misspelt section": (
        "polices: {}\n",
        None,
        [
            f"{P}: polices: unknown field 'polices' (expected policies, providers)",
            f"{P}: policies: missing required section",
        ],
    ),
    "section not a mapping": (
        "policies: [alpha, beta]\n",
        None,
        [f"{P}: policies: expected a mapping of names to entries"],
    ),
    "duplicate entry": (
        """\
        policies:
          alpha: {provider: openrouter, provider_model_id: a/b, capabilities: {streaming: true},
                  cost_tier: LOW, context_window: 9000, input_cost_per_1k: 0.1,
                  output_cost_per_1k: 0.1}
          alpha: {provider: openrouter, provider_model_id: a/c, capabilities: {streaming: true},
                  cost_tier: LOW, context_window: 9000, input_cost_per_1k: 0.1,
                  output_cost_per_1k: 0.1}
        """,
        "nodes: {}\n",
        [f"{P}: policies.alpha: duplicate key (line 5; first at line 2)"],
    ),
    "duplicate field": (
        None,
        """\
        nodes:
          writer:
            max_cost_tier: LOW
            max_cost_tier: HIGH
        """,
        [f"{N}: nodes.writer.max_cost_tier: duplicate key (line 4; first at line 3)"],
    ),
}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_file_level_errors(tmp_path: Path, case: str) -> None:
    policies, nodes, expected = FILE_CASES[case]
    assert issue_lines(write(tmp_path, policies, nodes)) == expected


def test_missing_files_are_both_reported(tmp_path: Path) -> None:
    assert issue_lines(tmp_path) == [
        f"{P}: file not found at {tmp_path / P}",
        f"{N}: file not found at {tmp_path / N}",
    ]


def test_the_guides_files_alone_lack_gpt4o_and_a_web_search_model(tmp_path: Path) -> None:
    """The guide's example files reference gpt-4o without defining it and have no web-search
    model: exactly three errors, all reported at once."""
    assert issue_lines(write(tmp_path, GUIDE_POLICIES, GUIDE_NODES)) == [
        f"{P}: policies.gemini-2.5-pro.fallback_models[1]: unknown model 'gpt-4o'",
        f"{P}: policies.claude-sonnet.fallback_models[0]: unknown model 'gpt-4o'",
        f"{N}: nodes.search_perplexity: no model satisfies this node (gemini-2.5-pro: missing "
        "capabilities web_search; claude-sonnet: missing capabilities web_search)",
    ]


def test_all_errors_of_both_files_are_reported_at_once(tmp_path: Path) -> None:
    policies, nodes = baseline()
    policies["policies"]["alpha"].update(context_window="big", fallback_models=["nope"])
    policies["policies"]["beta"]["fallback_models"] = ["alpha", "gpt-5"]
    policies["policies"]["gamma"] = model(cost_tier="CHEAP", fallback_models=["gamma"])
    nodes["nodes"]["writer"]["max_cost_tier"] = "TOP"
    nodes["nodes"]["evaluator"]["default_model"] = "ghost"
    with pytest.raises(ConfigError) as caught:
        load_catalog(write(tmp_path, policies, nodes))
    assert sorted(str(issue) for issue in caught.value.issues) == sorted(
        [
            f"{P}: policies.alpha.context_window: Input should be a valid integer",
            f"{P}: policies.gamma.cost_tier: unknown value 'CHEAP'; expected "
            "'LOW', 'MEDIUM', 'HIGH' or 'PREMIUM'",
            f"{N}: nodes.writer.max_cost_tier: unknown value 'TOP'; expected "
            "'LOW', 'MEDIUM', 'HIGH' or 'PREMIUM'",
            # cross-checks still run on the entries that parsed ...
            f"{P}: policies.beta.fallback_models[1]: unknown model 'gpt-5'",
            f"{N}: nodes.evaluator.default_model: unknown model 'ghost'",
            # ... and on the fallback lists of those that did not
            f"{P}: policies.alpha.fallback_models[0]: unknown model 'nope'",
            f"{P}: policies.gamma.fallback_models[0]: a model cannot be its own fallback",
        ]
    )
    assert "7 configuration error(s)" in str(caught.value)


def test_reference_to_an_unparsable_entry_is_not_reported_twice(tmp_path: Path) -> None:
    policies, nodes = baseline()
    policies["policies"]["beta"]["cost_tier"] = "CHEAP"  # alpha's fallback still names beta
    lines = issue_lines(write(tmp_path, policies, nodes))
    assert lines == [
        f"{P}: policies.beta.cost_tier: unknown value 'CHEAP'; expected "
        "'LOW', 'MEDIUM', 'HIGH' or 'PREMIUM'"
    ]


def test_fallback_cycles_are_allowed(tmp_path: Path) -> None:
    """The guide's models fall back to each other; that is valid."""
    catalog = load_catalog(write(tmp_path))
    assert catalog.expand_fallbacks("alpha") == ("beta",)
    assert catalog.expand_fallbacks("beta") == ("alpha",)
