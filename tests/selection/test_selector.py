"""Model selection rules, one behaviour per test, on a small in-memory catalogue."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from tests.selection.catalogs import node, policy, selector_for, small_catalog

from llm_gateway.config.catalog import Catalog
from llm_gateway.errors import InvalidRequest, NoEligibleModel, NotFound
from llm_gateway.model_policy import Capability, CostTier
from llm_gateway.model_selector import SelectionContext, SelectionStrategy, merge_requirements
from llm_gateway.selection.signals import InMemorySignals, Override


@pytest.fixture
def catalog() -> Catalog:
    return small_catalog()


def test_node_requirements_apply(catalog: Catalog) -> None:
    result = selector_for(catalog).select(SelectionContext(node_name="writer"))
    assert set(result.scores) == {"writer-mid", "smart", "tiny"}
    assert result.rejected["cheap"] == ("missing capabilities creative_writing",)
    assert result.rejected["premium"] == ("cost tier PREMIUM above max HIGH",)
    assert result.rejected["search"] == ("missing capabilities creative_writing",)
    assert set(result.rejected) | set(result.scores) == set(catalog.policies)


def test_context_adds_requirements(catalog: Catalog) -> None:
    result = selector_for(catalog).select(
        SelectionContext(node_name="writer", capabilities=["reasoning"])
    )
    assert result.selected_model.logical_id == "smart"
    assert result.fallback_chain == ()
    assert Capability.REASONING in result.requirements.required_capabilities


def test_context_never_loosens_the_node(catalog: Catalog) -> None:
    context = SelectionContext(node_name="writer", max_cost_tier="PREMIUM", min_context_window=10)
    needs = merge_requirements(catalog, context)
    assert needs.max_cost_tier is CostTier.HIGH
    assert needs.min_context_window == 8000
    result = selector_for(catalog).select(context)
    assert "premium" in result.rejected


def test_context_tightens_tier_and_window(catalog: Catalog) -> None:
    result = selector_for(catalog).select(
        SelectionContext(node_name="writer", max_cost_tier="medium", min_context_window=100_000)
    )
    assert result.selected_model.logical_id == "writer-mid"
    assert result.rejected["smart"] == ("cost tier HIGH above max MEDIUM",)
    assert result.rejected["tiny"] == ("context window 8192 < required 100000",)


def test_estimated_tokens_raise_the_context_floor(catalog: Catalog) -> None:
    result = selector_for(catalog).select(
        SelectionContext(
            node_name="writer", estimated_input_tokens=120_000, estimated_output_tokens=4_000
        )
    )
    floor = result.requirements.min_context_window
    assert floor == 8000  # the node's own floor is unchanged ...
    assert result.rejected["tiny"][0].startswith("context window 8192 < required 12")  # ... the
    # request's (rounded up at most 12.5%) applies on top
    for lid in result.scores:
        assert catalog.policies[lid].context_window >= 124_000


def test_reasoning_required(catalog: Catalog) -> None:
    result = selector_for(catalog).select(SelectionContext(node_name="evaluator"))
    assert set(result.scores) == {"smart", "premium"}
    assert result.rejected["writer-mid"] == ("reasoning required (reasoning_required: true)",)


def test_no_eligible_model_names_every_model_and_its_failure(catalog: Catalog) -> None:
    with pytest.raises(NoEligibleModel) as caught:
        selector_for(catalog).select(
            SelectionContext(node_name="evaluator", max_cost_tier=CostTier.LOW)
        )
    error = caught.value
    assert set(error.rejections) == set(catalog.policies)
    assert error.rejections["premium"] == ["cost tier PREMIUM above max LOW"]
    assert error.rejections["cheap"] == [
        "reasoning required (reasoning_required: true)",
    ]
    assert error.status_code == 422
    body = error.to_dict()["error"]
    assert body["code"] == "no_eligible_model"
    assert body["rejected"]["smart"] == ["cost tier HIGH above max LOW"]
    assert "no model satisfies node 'evaluator'" in error.message
    assert "smart: cost tier HIGH above max LOW" in error.message


@pytest.mark.parametrize(
    ("context", "param"),
    [
        (SelectionContext(capabilities=["telepathy"]), "capabilities"),
        (SelectionContext(preferred_capabilities=["telepathy"]), "preferred_capabilities"),
        (SelectionContext(strategy="cheapest"), "strategy"),
        (SelectionContext(max_cost_tier="CHEAP"), "max_cost_tier"),
        (SelectionContext(min_context_window=-1), "min_context_window"),
    ],
)
def test_invalid_context_is_a_client_error(
    catalog: Catalog, context: SelectionContext, param: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        selector_for(catalog).select(context)
    assert not isinstance(caught.value, NoEligibleModel)
    assert caught.value.param == param
    assert caught.value.status_code == 400


def test_names_are_case_insensitive(catalog: Catalog) -> None:
    selector = selector_for(catalog)
    a = selector.select(SelectionContext(node_name="writer", capabilities=["Reasoning"]))
    b = selector.select(SelectionContext(node_name="writer", capabilities=[Capability.REASONING]))
    assert a is b


def test_strategy_from_node_then_context(catalog: Catalog) -> None:
    selector = selector_for(catalog)
    assert selector.select(SelectionContext(node_name="formatter")).strategy is (
        SelectionStrategy.COST_OPTIMIZED
    )
    result = selector.select(SelectionContext(node_name="formatter", strategy="quality_optimized"))
    assert result.strategy is SelectionStrategy.QUALITY_OPTIMIZED
    assert selector.select(SelectionContext(node_name="writer")).strategy is (
        SelectionStrategy.BALANCED
    )


def test_strategies_trade_cost_quality_and_latency(catalog: Catalog) -> None:
    selector = selector_for(catalog)

    def pick(strategy: str) -> str:
        context = SelectionContext(node_name="evaluator", strategy=strategy)
        return selector.select(context).selected_model.logical_id

    assert pick("cost_optimized") == "smart"
    assert pick("quality_optimized") == "premium"
    assert pick("latency_optimized") == "smart"


def test_pattern_node_and_default_entry(catalog: Catalog) -> None:
    selector = selector_for(catalog)
    search = selector.select(SelectionContext(node_name="search_news"))
    assert search.selected_model.logical_id == "search"
    assert search.node_name == "search_news"
    assert search.requirements.node_name == "search_news"
    unknown = selector.select(SelectionContext(node_name="somebody"))
    assert unknown.requirements.max_cost_tier is CostTier.HIGH  # the `default` entry
    assert "premium" in unknown.rejected


def test_unknown_node_without_a_default_entry_has_no_requirements() -> None:
    bare = Catalog.from_entries([policy("only", "streaming", "PREMIUM", 1000, "1", "1")])
    result = selector_for(bare).select(SelectionContext(node_name="whoever"))
    assert result.selected_model.logical_id == "only"


def test_fallback_chain_declared_first_then_ranked_never_repeats(catalog: Catalog) -> None:
    result = selector_for(catalog).select(
        SelectionContext(node_name="writer", requested_model="writer-mid")
    )
    # writer-mid declares [smart, cheap]; cheap is not eligible for writer; then the ranked rest
    assert result.fallback_chain == ("smart", "tiny")
    assert [p.logical_id for p in result.candidates] == ["writer-mid", "smart", "tiny"]


def test_fallback_outside_requirements_when_the_node_allows_it() -> None:
    catalog = Catalog.from_entries(
        [
            policy("a", "streaming creative_writing", "LOW", 10_000, "0.001", "0.001", ("b",)),
            policy("b", "streaming", "LOW", 10_000, "0.001", "0.001"),
            policy("c", "streaming", "LOW", 1_000, "0.001", "0.001"),
        ],
        [
            node("strict", "creative_writing"),
            node("lenient", "creative_writing", fallback_outside_requirements=True),
        ],
    )
    selector = selector_for(catalog)
    assert selector.select(SelectionContext(node_name="strict")).fallback_chain == ()
    lenient = selector.select(SelectionContext(node_name="lenient", estimated_input_tokens=5_000))
    assert lenient.selected_model.logical_id == "a"
    assert lenient.fallback_chain == ("b",)  # c is too small even outside the requirements


def test_requested_model(catalog: Catalog) -> None:
    selector = selector_for(catalog)
    result = selector.select(SelectionContext(node_name="writer", requested_model="tiny"))
    assert (result.selected_model.logical_id, result.source) == ("tiny", "requested")
    with pytest.raises(NotFound):
        selector.select(SelectionContext(node_name="writer", requested_model="gpt-5"))
    with pytest.raises(NoEligibleModel) as caught:
        selector.select(SelectionContext(node_name="writer", requested_model="premium"))
    assert caught.value.rejections == {"premium": ["cost tier PREMIUM above max HIGH"]}


def test_override_applies_while_it_satisfies_the_node(catalog: Catalog) -> None:
    signals = InMemorySignals()
    selector = selector_for(catalog, signals)
    signals.set_override("writer", Override("smart"))
    result = selector.select(SelectionContext(node_name="writer"))
    assert (result.selected_model.logical_id, result.source, result.override) == (
        "smart",
        "override",
        "smart",
    )
    signals.set_override("writer", Override("premium"))
    result = selector.select(SelectionContext(node_name="writer"))
    assert result.selected_model.logical_id != "premium", "an unforced override never bypasses"
    assert any("override 'premium' skipped: cost tier PREMIUM" in r for r in result.reasons)
    signals.set_override("writer", Override("premium", forced=True))
    result = selector.select(SelectionContext(node_name="writer"))
    assert (result.selected_model.logical_id, result.source) == ("premium", "override")
    assert any("node requirements bypassed (cost tier PREMIUM" in r for r in result.reasons)
    capped = selector.select(SelectionContext(node_name="writer", max_cost_tier="HIGH"))
    assert capped.selected_model.logical_id != "premium", "the request's own cap still holds"
    signals.clear_override("writer")
    assert selector.select(SelectionContext(node_name="writer")).source == "score"


def test_override_and_open_circuit(catalog: Catalog) -> None:
    signals = InMemorySignals()
    selector = selector_for(catalog, signals)
    signals.set_available("smart", False)
    signals.set_override("writer", Override("smart"))
    assert selector.select(SelectionContext(node_name="writer")).source == "score"
    signals.set_override("writer", Override("smart", forced=True))
    forced = selector.select(SelectionContext(node_name="writer"))
    assert (forced.selected_model.logical_id, forced.source) == ("smart", "override")


def test_disabled_model_is_never_used(catalog: Catalog) -> None:
    signals = InMemorySignals()
    selector = selector_for(catalog, signals)
    signals.set_disabled("writer-mid", True)
    signals.set_override("writer", Override("writer-mid"))
    result = selector.select(SelectionContext(node_name="writer"))
    assert result.rejected["writer-mid"] == ("disabled by an admin",)
    assert "writer-mid" not in (result.selected_model.logical_id, *result.fallback_chain)


def test_open_circuit_models_are_tried_last(catalog: Catalog) -> None:
    signals = InMemorySignals()
    selector = selector_for(catalog, signals)
    before = selector.select(SelectionContext(node_name="writer"))
    signals.set_available(before.selected_model.logical_id, False)
    after = selector.select(SelectionContext(node_name="writer"))
    assert after.selected_model.logical_id != before.selected_model.logical_id
    assert after.fallback_chain[-1] == before.selected_model.logical_id
    assert after.demoted == {before.selected_model.logical_id}
    for lid in ("writer-mid", "smart", "tiny"):
        signals.set_available(lid, False)
    everything_open = selector.select(SelectionContext(node_name="writer"))
    assert everything_open.selected_model.logical_id in {"writer-mid", "smart", "tiny"}
    assert any("no eligible model has a closed circuit" in r for r in everything_open.reasons)


def test_node_default_model(catalog: Catalog) -> None:
    signals = InMemorySignals()
    selector = selector_for(catalog, signals)
    pinned = selector.select(SelectionContext(node_name="pinned"))
    assert (pinned.selected_model.logical_id, pinned.source) == ("writer-mid", "node_default")
    scored = selector.select(SelectionContext(node_name="pinned", strategy="cost_optimized"))
    assert scored.source == "score"
    signals.set_disabled("writer-mid", True)
    skipped = selector.select(SelectionContext(node_name="pinned"))
    assert skipped.source == "score"
    assert any("default_model 'writer-mid' skipped" in r for r in skipped.reasons)


def test_observed_latency_changes_the_latency_pick(catalog: Catalog) -> None:
    clock = [0.0]
    signals = InMemorySignals(publish_interval_s=1.0, min_samples=3, clock=lambda: clock[0])
    selector = selector_for(catalog, signals)
    context = SelectionContext(node_name="writer", strategy="latency_optimized")
    assert selector.select(context).selected_model.logical_id == "tiny"  # 200 ms declared
    for _ in range(5):
        signals.record("tiny", 5_000.0, ok=True)
    assert selector.select(context).selected_model.logical_id == "tiny", "not published yet"
    clock[0] = 2.0
    result = selector.select(context)
    assert result.selected_model.logical_id == "writer-mid"
    assert result.scores["tiny"].observed and result.scores["tiny"].latency_ms == 5_000.0


def test_failures_lower_reliability_but_never_look_fast(catalog: Catalog) -> None:
    signals = InMemorySignals(publish_interval_s=0.0, min_samples=3)
    selector = selector_for(catalog, signals)
    for _ in range(10):
        signals.record("writer-mid", 0.0, ok=False)  # instant failures
    result = selector.select(SelectionContext(node_name="writer"))
    score = result.scores["writer-mid"]
    assert not score.observed and score.latency_ms == 700.0  # declared latency kept
    assert score.reliability == pytest.approx(0.0)
    assert result.selected_model.logical_id != "writer-mid"


def test_cache_hits_and_invalidation(catalog: Catalog) -> None:
    signals = InMemorySignals()
    selector = selector_for(catalog, signals)
    context = SelectionContext(node_name="writer")
    first = selector.select(context)
    assert selector.select(SelectionContext(node_name="writer")) is first
    traced = selector.select(SelectionContext(node_name="writer", trace_id="t-2"))
    assert traced.trace_id == "t-2" and first.trace_id is None
    assert traced.selected_model == first.selected_model
    signals.set_override("writer", Override("smart"))
    assert selector.select(context) is not first
    assert selector.cached_count == 2


def test_cache_is_bounded(catalog: Catalog) -> None:
    from llm_gateway.model_policy import ModelPolicyRegistry
    from llm_gateway.model_selector import ModelSelector

    selector = ModelSelector(ModelPolicyRegistry.from_catalog(catalog), cache_size=4)
    for tokens in range(10):
        selector.select(SelectionContext(node_name="writer", estimated_input_tokens=tokens))
    assert selector.cached_count == 4


def test_similar_sizes_share_a_cached_result(catalog: Catalog) -> None:
    selector = selector_for(catalog)
    a = selector.select(SelectionContext(node_name="writer", estimated_input_tokens=33_000))
    b = selector.select(SelectionContext(node_name="writer", estimated_input_tokens=34_500))
    assert a is b


def test_result_is_json_ready(catalog: Catalog) -> None:
    result = selector_for(catalog).select(SelectionContext(node_name="writer", trace_id="abc"))
    data = json.loads(json.dumps(result.as_dict()))
    assert data["selected_model"] == result.selected_model.logical_id
    assert data["fallback_chain"] == list(result.fallback_chain)
    assert data["trace_id"] == "abc"
    assert data["rejected"]["premium"] == ["cost tier PREMIUM above max HIGH"]
    assert set(data["scores"][data["selected_model"]]) >= {"total", "cost", "quality", "latency"}
    assert data["reasons"] and data["requirements"]["max_cost_tier"] == "HIGH"


async def test_async_select_model(catalog: Catalog) -> None:
    selector = selector_for(catalog)
    result = await selector.select_model(SelectionContext(node_name="writer"))
    assert result is selector.select(SelectionContext(node_name="writer"))


async def test_recommendations(catalog: Catalog) -> None:
    signals = InMemorySignals(publish_interval_s=0.0, min_samples=2)
    selector = selector_for(catalog, signals)
    report = await selector.get_model_recommendations("writer")
    assert report["strategy"] == "balanced"
    assert report["options"][0]["model"] == report["recommended"]
    assert set(report["performance_data"]) == {"writer-mid", "smart", "tiny"}
    assert report["performance_data"]["smart"]["source"] == "declared"
    for option in report["options"]:
        policy_ = catalog.policies[option["model"]]
        per_1k = policy_.expected_cost(1000, 500) * 1000
        assert option["estimated_cost_per_1k_requests_usd"] == str(
            per_1k.quantize(Decimal("0.0001"))
        )
    assert report["by_strategy"]["quality_optimized"] == "smart"
    assert "premium" in report["rejected"]
    signals.set_override("writer", Override("smart"))
    for _ in range(3):
        signals.record("smart", 900.0, ok=True)
    report = await selector.get_model_recommendations("writer")
    assert report["current_override"] == "smart"
    assert report["performance_data"]["smart"] == {
        "source": "observed",
        "latency_ms": 900.0,
        "error_rate": 0.0,
        "samples": 3,
        "circuit_open": False,
    }
