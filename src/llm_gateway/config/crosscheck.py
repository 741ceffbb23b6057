"""Phase two of loading: cross-check the parsed entries against each other.

Pure: takes a :class:`Catalog` built from the entries that parsed and returns every
:class:`ConfigIssue` found; raises nothing. References to entries that exist but failed to parse
are not reported again (their own error already is).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from llm_gateway.config.catalog import Catalog, ProviderConfig
from llm_gateway.errors import ConfigIssue
from llm_gateway.model_policy import ModelPolicy, NodeRequirements
from llm_gateway.selection.constraints import hard_constraint_failures

POLICIES_FILE = "model_policies.yaml"
NODES_FILE = "node_requirements.yaml"
BUILTIN_PROVIDERS = {
    "openrouter": ProviderConfig(name="openrouter", kind="openrouter"),
    "simulated": ProviderConfig(name="simulated", kind="simulated"),
}


def cross_check(
    catalog: Catalog,
    *,
    known_models: Collection[str] | None = None,
    known_providers: Collection[str] | None = None,
    check_servable: bool = True,
) -> list[ConfigIssue]:
    """References resolve, values agree with each other, every node is servable.

    ``known_models``/``known_providers`` default to the catalogue's own; the loader passes the
    names of every entry, parsed or not. ``check_servable=False`` skips the per-node "some model
    satisfies it" check (meaningless when some entries failed to parse).
    """
    models = set(catalog.policies) if known_models is None else set(known_models)
    providers = set(catalog.providers) if known_providers is None else set(known_providers)
    issues: list[ConfigIssue] = []
    for name, provider in catalog.providers.items():
        issues.extend(_provider_issues(name, provider))
    for lid, policy in catalog.policies.items():
        issues.extend(_policy_issues(lid, policy, models, providers))
    for name, node in catalog.nodes.items():
        issues.extend(_default_model_issues(name, node, catalog, models))
        if check_servable:
            issues.extend(_servable_issues(name, node, catalog))
    return issues


def _provider_issues(name: str, provider: ProviderConfig) -> list[ConfigIssue]:
    if provider.kind == "openai_compatible" and not provider.base_url:
        return [
            ConfigIssue(
                POLICIES_FILE,
                f"providers.{name}.base_url",
                "required for a provider of kind 'openai_compatible'",
            )
        ]
    return []


def _policy_issues(
    lid: str, policy: ModelPolicy, models: set[str], providers: set[str]
) -> list[ConfigIssue]:
    where = f"policies.{lid}"
    issues: list[ConfigIssue] = []
    if policy.provider not in providers:
        known = ", ".join(sorted(providers))
        issues.append(
            ConfigIssue(
                POLICIES_FILE,
                f"{where}.provider",
                f"unknown provider '{policy.provider}' (known: {known})",
            )
        )
    issues.extend(fallback_issues(lid, policy.fallback_models, models))
    if policy.max_output_tokens and policy.max_output_tokens > policy.context_window:
        issues.append(
            ConfigIssue(
                POLICIES_FILE,
                f"{where}.max_output_tokens",
                f"{policy.max_output_tokens} exceeds context_window {policy.context_window}",
            )
        )
    cached = policy.cached_input_cost_per_1k
    if cached is not None and cached > policy.input_cost_per_1k:
        issues.append(
            ConfigIssue(
                POLICIES_FILE,
                f"{where}.cached_input_cost_per_1k",
                f"{cached} is above input_cost_per_1k {policy.input_cost_per_1k}",
            )
        )
    return issues


def fallback_issues(
    lid: str, fallbacks: Sequence[str], models: Collection[str]
) -> list[ConfigIssue]:
    """Unknown, self-referencing and repeated entries of ``policies.<lid>.fallback_models``."""
    issues: list[ConfigIssue] = []
    seen: set[str] = set()
    for i, fallback in enumerate(fallbacks):
        path = f"policies.{lid}.fallback_models[{i}]"
        if fallback not in models:
            issues.append(ConfigIssue(POLICIES_FILE, path, f"unknown model '{fallback}'"))
        elif fallback == lid:
            issues.append(ConfigIssue(POLICIES_FILE, path, "a model cannot be its own fallback"))
        elif fallback in seen:
            issues.append(ConfigIssue(POLICIES_FILE, path, f"'{fallback}' is listed twice"))
        seen.add(fallback)
    return issues


def _default_model_issues(
    name: str, node: NodeRequirements, catalog: Catalog, models: set[str]
) -> list[ConfigIssue]:
    if node.default_model is None:
        return []
    path = f"nodes.{name}.default_model"
    default = catalog.policies.get(node.default_model)
    if default is None:
        if node.default_model in models:
            return []  # the entry exists but did not parse; its own error says why
        return [ConfigIssue(NODES_FILE, path, f"unknown model '{node.default_model}'")]
    failed = hard_constraint_failures(default, node)
    if failed:
        return [ConfigIssue(NODES_FILE, path, f"'{node.default_model}' fails: {'; '.join(failed)}")]
    return []


def _servable_issues(name: str, node: NodeRequirements, catalog: Catalog) -> list[ConfigIssue]:
    failures = {lid: hard_constraint_failures(p, node) for lid, p in catalog.policies.items()}
    if any(not why for why in failures.values()):
        return []
    if not failures:
        return [
            ConfigIssue(NODES_FILE, f"nodes.{name}", "no model satisfies this node (no models)")
        ]
    reasons = "; ".join(f"{lid}: {', '.join(why)}" for lid, why in failures.items())
    return [ConfigIssue(NODES_FILE, f"nodes.{name}", f"no model satisfies this node ({reasons})")]
