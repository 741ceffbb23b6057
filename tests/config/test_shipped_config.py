"""The shipped config/: valid, the guide's examples verbatim, a realistic OpenRouter catalogue,
and every node family of the guide served."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from tests.config.configdir import GUIDE_NODES, GUIDE_POLICIES

from llm_gateway.config.catalog import Catalog
from llm_gateway.config.loader import load_catalog, validate_config_dir
from llm_gateway.model_policy import Capability, CostTier, ModelPolicyRegistry
from llm_gateway.model_selector import ModelSelector, SelectionContext

SHIPPED = Path(__file__).resolve().parents[2] / "config"

# Added to claude-sonnet beyond the guide's text, documented in the YAML comment.
DOCUMENTED_EXTRA_CAPABILITIES = {"claude-sonnet": {Capability.CREATIVE_WRITING, Capability.PREFILL}}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(SHIPPED)


def test_shipped_config_is_valid() -> None:
    assert validate_config_dir(SHIPPED) == []


@pytest.mark.parametrize("logical_id", ["gemini-2.5-pro", "claude-sonnet"])
def test_guide_models_are_verbatim(catalog: Catalog, logical_id: str) -> None:
    guide = yaml.safe_load(GUIDE_POLICIES)["policies"][logical_id]
    shipped = catalog.policies[logical_id]
    assert shipped.provider == guide["provider"]
    assert shipped.provider_model_id == guide["provider_model_id"]
    assert shipped.cost_tier == guide["cost_tier"]
    assert shipped.context_window == guide["context_window"]
    assert shipped.input_cost_per_1k == Decimal(str(guide["input_cost_per_1k"]))
    assert shipped.output_cost_per_1k == Decimal(str(guide["output_cost_per_1k"]))
    assert list(shipped.fallback_models) == guide["fallback_models"]
    declared = {Capability(c) for c, on in guide["capabilities"].items() if on}
    extra = DOCUMENTED_EXTRA_CAPABILITIES.get(logical_id, set())
    assert shipped.capabilities == declared | extra
    raw = yaml.safe_load((SHIPPED / "model_policies.yaml").read_text())["policies"][logical_id]
    assert set(raw) == set(guide), "no fields beyond the guide's on its own entries"


def test_extra_claude_capabilities_are_documented_in_the_file() -> None:
    text = (SHIPPED / "model_policies.yaml").read_text()
    header = text.split("policies:", 1)[0]
    assert "claude-sonnet" in header
    assert "creative_writing" in header and "prefill" in header


@pytest.mark.parametrize("node", ["writer", "evaluator", "search_perplexity"])
def test_guide_nodes_are_verbatim(node: str) -> None:
    guide = yaml.safe_load(GUIDE_NODES)["nodes"][node]
    shipped = yaml.safe_load((SHIPPED / "node_requirements.yaml").read_text())["nodes"][node]
    assert shipped == guide


def test_catalogue_is_a_realistic_openrouter_selection(catalog: Catalog) -> None:
    openrouter = [p for p in catalog.policies.values() if p.provider == "openrouter"]
    assert len(openrouter) >= 10
    assert all("/" in p.provider_model_id for p in openrouter)
    has = lambda cap: [p for p in openrouter if cap in p.capabilities]  # noqa: E731
    assert [p for p in has(Capability.FAST) if p.cost_tier is CostTier.LOW], "cheap and fast"
    assert [p for p in has(Capability.LONG_CONTEXT) if p.context_window >= 1_000_000]
    assert has(Capability.REASONING)
    assert len(has(Capability.WEB_SEARCH)) >= 2
    assert [p for p in openrouter if p.cost_tier is CostTier.PREMIUM]
    assert "gemini-2.5-flash" in catalog.policies, "the guide's legacy default"
    assert "gpt-4o" in catalog.policies, "the guide's fallbacks name it"


def test_prices_follow_the_tiers_roughly(catalog: Catalog) -> None:
    """A LOW model is never dearer than a PREMIUM one (a typo in a price shows up here)."""
    cost = {lid: p.expected_cost(1000, 500) for lid, p in catalog.policies.items()}
    lows = [cost[p.logical_id] for p in catalog.policies.values() if p.cost_tier is CostTier.LOW]
    premiums = [
        cost[p.logical_id] for p in catalog.policies.values() if p.cost_tier is CostTier.PREMIUM
    ]
    assert max(lows) < min(premiums)


@pytest.mark.parametrize(
    "node",
    [
        "writer",
        "evaluator",
        "formatter",
        "search_perplexity",
        "search_scholar",
        "search_news",
        "qa_citations",
        "qa_plagiarism",
        "citation_master",
    ],
)
def test_every_node_family_of_the_guide_has_requirements_and_is_served(
    catalog: Catalog, node: str
) -> None:
    assert catalog.node_requirements(node) is not None
    result = ModelSelector(ModelPolicyRegistry.from_catalog(catalog)).select(
        SelectionContext(node_name=node)
    )
    assert result.fallback_chain, "a fallback exists"
