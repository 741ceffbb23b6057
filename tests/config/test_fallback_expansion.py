"""Fallback lists may reference each other: expanding a chain never repeats a model, never
contains the model itself, and terminates on any graph (cycles included)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from llm_gateway.config.catalog import Catalog
from llm_gateway.model_policy import Capability, CostTier, ModelPolicy

NAMES = [f"m{i}" for i in range(8)]


def _policy(name: str, fallbacks: list[str]) -> ModelPolicy:
    return ModelPolicy(
        logical_id=name,
        provider="openrouter",
        provider_model_id=f"v/{name}",
        capabilities=frozenset({Capability.STREAMING}),
        cost_tier=CostTier.LOW,
        context_window=1000,
        input_cost_per_1k=Decimal("0.001"),
        output_cost_per_1k=Decimal("0.001"),
        fallback_models=tuple(fallbacks),
    )


graphs = st.dictionaries(
    st.sampled_from(NAMES),
    st.lists(st.sampled_from([*NAMES, "ghost"]), max_size=5),
    min_size=1,
)


def _reachable(graph: dict[str, list[str]], start: str) -> set[str]:
    seen, todo = set(), list(graph.get(start, []))
    while todo:
        node = todo.pop()
        if node in graph and node not in seen:
            seen.add(node)
            todo.extend(graph[node])
    return seen - {start}


@given(graphs)
def test_expansion_is_the_reachable_set_once_each(graph: dict[str, list[str]]) -> None:
    catalog = Catalog.from_entries([_policy(name, fb) for name, fb in graph.items()])
    for start in graph:
        chain = catalog.expand_fallbacks(start)
        assert len(chain) == len(set(chain))
        assert start not in chain
        assert set(chain) == _reachable(graph, start)
        direct = [f for f in dict.fromkeys(graph[start]) if f in graph and f != start]
        assert list(chain[: len(direct)]) == direct, "declared order first (breadth-first)"


def test_guide_cycle() -> None:
    catalog = Catalog.from_entries(
        [
            _policy("gemini-2.5-pro", ["claude-sonnet", "gpt-4o"]),
            _policy("claude-sonnet", ["gpt-4o", "gemini-2.5-pro"]),
            _policy("gpt-4o", ["claude-sonnet"]),
        ]
    )
    assert catalog.expand_fallbacks("gemini-2.5-pro") == ("claude-sonnet", "gpt-4o")
    assert catalog.expand_fallbacks("claude-sonnet") == ("gpt-4o", "gemini-2.5-pro")
    assert catalog.expand_fallbacks("unknown") == ()
