"""Build config directories for tests: a small valid baseline that each test breaks one way."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml

from llm_gateway.config.loader import NODES_FILE, POLICIES_FILE, validate_config_dir

# The migration guide's two files, verbatim (section 1.2).
GUIDE_POLICIES = """\
policies:
  # OpenRouter models
  gemini-2.5-pro:
    provider: openrouter
    provider_model_id: google/gemini-2.0-flash-exp
    capabilities:
      streaming: true
      function_calling: true
      long_context: true
      creative_writing: true
    cost_tier: MEDIUM
    context_window: 32000
    input_cost_per_1k: 0.00015
    output_cost_per_1k: 0.0006
    fallback_models: [claude-sonnet, gpt-4o]
    
  claude-sonnet:
    provider: openrouter
    provider_model_id: anthropic/claude-3.5-sonnet-20241022
    capabilities:
      streaming: true
      reasoning: true
      function_calling: true
    cost_tier: HIGH
    context_window: 200000
    input_cost_per_1k: 0.003
    output_cost_per_1k: 0.015
    fallback_models: [gpt-4o, gemini-2.5-pro]
"""  # noqa: W293 - the guide's blank line carries four spaces

GUIDE_NODES = """\
nodes:
  writer:
    required_capabilities: [streaming, creative_writing]
    preferred_capabilities: [long_context, function_calling]
    min_context_window: 8000
    max_cost_tier: HIGH
    
  evaluator:
    required_capabilities: [reasoning]
    preferred_capabilities: [function_calling]
    min_context_window: 8000
    max_cost_tier: PREMIUM
    reasoning_required: true
    
  search_perplexity:
    required_capabilities: [web_search]
    preferred_capabilities: [streaming]
    min_context_window: 16000
    max_cost_tier: HIGH
"""  # noqa: W293


def model(**overrides: Any) -> dict[str, Any]:
    """One valid ``policies:`` entry (cheap, streaming + function calling), with overrides."""
    entry: dict[str, Any] = {
        "provider": "openrouter",
        "provider_model_id": "vendor/model",
        "capabilities": {"streaming": True, "function_calling": True},
        "cost_tier": "LOW",
        "context_window": 128000,
        "input_cost_per_1k": 0.0001,
        "output_cost_per_1k": 0.0004,
        "fallback_models": [],
    }
    entry.update(overrides)
    return entry


def baseline() -> tuple[dict[str, Any], dict[str, Any]]:
    """A valid pair of documents: two models that fall back to each other, two nodes."""
    policies = {
        "policies": {
            "alpha": model(fallback_models=["beta"]),
            "beta": model(
                cost_tier="HIGH",
                capabilities={"streaming": True, "reasoning": True},
                fallback_models=["alpha"],
            ),
        }
    }
    nodes = {
        "nodes": {
            "writer": {"required_capabilities": ["streaming"], "max_cost_tier": "HIGH"},
            "evaluator": {"required_capabilities": ["reasoning"], "reasoning_required": True},
        }
    }
    return policies, nodes


def write(directory: Path, policies: Any = None, nodes: Any = None) -> Path:
    """Write the two files (dicts are dumped as YAML, strings written as they are); a ``None``
    document falls back to the baseline's."""
    base_policies, base_nodes = baseline()
    directory.mkdir(parents=True, exist_ok=True)
    for name, doc, default in (
        (POLICIES_FILE, policies, base_policies),
        (NODES_FILE, nodes, base_nodes),
    ):
        doc = default if doc is None else doc
        text = textwrap.dedent(doc) if isinstance(doc, str) else yaml.safe_dump(doc)
        (directory / name).write_text(text)
    return directory


def issue_lines(directory: Path) -> list[str]:
    """Every validation issue of ``directory`` as the CLI prints it."""
    return [str(issue) for issue in validate_config_dir(directory)]
