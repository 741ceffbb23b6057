"""The frozen, cross-checked catalogue that the rest of the gateway reads (phase two's output)."""

from __future__ import annotations

import fnmatch
import hashlib
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

from llm_gateway.budgets.config import NO_BUDGETS, Budgets
from llm_gateway.limits.spec import NO_LIMITS, LimitsConfig
from llm_gateway.model_policy import ModelPolicy, NodeRequirements

DEFAULT_NODE = "default"
"""The ``nodes:`` entry that applies to a node with neither an entry nor a matching pattern."""


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """How to reach one provider. The key itself is never stored, only the variable naming it."""

    name: str
    kind: str
    base_url: str | None = None
    api_key_env: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    max_connections: int = 256


@dataclass(frozen=True)
class Catalog:
    """One immutable snapshot of both config files. Replaced, never mutated."""

    policies: Mapping[str, ModelPolicy]
    nodes: Mapping[str, NodeRequirements]
    providers: Mapping[str, ProviderConfig]
    config_dir: Path
    version: str
    budgets: Budgets = NO_BUDGETS  # budgets.yaml (optional)
    limits: LimitsConfig = NO_LIMITS  # limits.yaml (node and client-key rate limits)

    @classmethod
    def from_entries(
        cls,
        policies: Iterable[ModelPolicy],
        nodes: Iterable[NodeRequirements] = (),
        *,
        providers: Mapping[str, ProviderConfig] | None = None,
        version: str | None = None,
        config_dir: Path = Path("."),
        limits: LimitsConfig = NO_LIMITS,
    ) -> Catalog:
        """A catalogue built in code (tests, embedding) rather than from files; not
        cross-checked (see :func:`llm_gateway.config.crosscheck.cross_check`). The version
        defaults to a digest of the entries, so equal content gives an equal version."""
        by_id = {p.logical_id: p for p in policies}
        by_name = {n.node_name: n for n in nodes}
        if version is None:
            text = repr(sorted((k, v.model_dump_json()) for k, v in by_id.items()))
            text += repr(sorted((k, v.model_dump_json()) for k, v in by_name.items()))
            version = "mem-" + hashlib.sha256(text.encode()).hexdigest()[:12]
        return cls(
            policies=MappingProxyType(by_id),
            nodes=MappingProxyType(by_name),
            providers=MappingProxyType(dict(providers or {})),
            config_dir=config_dir,
            version=version,
            limits=limits,
        )

    def node_requirements(self, node_name: str) -> NodeRequirements | None:
        """Exact node entry, else the most specific pattern entry (``search_*``), else None."""
        exact = self.nodes.get(node_name)
        if exact is not None:
            return exact
        for pattern in self._patterns:
            if fnmatch.fnmatchcase(node_name, pattern):
                return self.nodes[pattern].model_copy(update={"node_name": node_name})
        return None

    def node_label(self, node_name: str) -> str:
        """The bounded name ``node_name`` is counted under in metrics and aggregates: itself
        when configured, the pattern entry it matches (``search_*``), else ``default``. Callers
        choose node names freely; labels only come from the file."""
        if node_name in self.nodes:
            return node_name
        for pattern in self._patterns:
            if fnmatch.fnmatchcase(node_name, pattern):
                return pattern
        return DEFAULT_NODE

    def requirements_for(self, node_name: str) -> NodeRequirements:
        """What selection applies to ``node_name``: its own or pattern entry, else the
        ``default`` entry (renamed), else no requirements at all. Never None."""
        found = self.node_requirements(node_name)
        if found is not None:
            return found
        default = self.nodes.get(DEFAULT_NODE)
        if default is not None:
            return default.model_copy(update={"node_name": node_name})
        return NodeRequirements(node_name=node_name)

    @cached_property
    def _patterns(self) -> tuple[str, ...]:
        wild = [name for name in self.nodes if any(ch in name for ch in "*?[")]
        return tuple(sorted(wild, key=lambda p: (-len(p.rstrip("*?")), p)))

    def expand_fallbacks(self, logical_id: str) -> tuple[str, ...]:
        """Fallbacks of ``logical_id`` and theirs, breadth-first, each once, never itself."""
        cached = self._fallback_cache.get(logical_id)
        if cached is None:
            cached = self._fallback_cache[logical_id] = _expand(self.policies, logical_id)
        return cached

    @cached_property
    def _fallback_cache(self) -> dict[str, tuple[str, ...]]:
        return {}


def _expand(policies: Mapping[str, ModelPolicy], start: str) -> tuple[str, ...]:
    seen = {start}
    order: list[str] = []
    queue = deque(policies[start].fallback_models if start in policies else ())
    while queue:
        model = queue.popleft()
        if model in seen or model not in policies:
            continue
        seen.add(model)
        order.append(model)
        queue.extend(policies[model].fallback_models)
    return tuple(order)
