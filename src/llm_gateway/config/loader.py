"""Load the config directory in two phases: parse strictly, then cross-check and freeze.

Every problem is collected as a :class:`ConfigIssue` naming the file and the key path
(``model_policies.yaml: policies.claude-sonnet.fallback_models[1]: unknown model 'gpt-5'``) and
all of them are raised together in one :class:`ConfigError`. Entries are validated one by one, so
a malformed entry does not hide the problems of the others, and cross-references are still checked
among the entries that did parse.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from llm_gateway.budgets.config import (
    BUDGETS_FILE,
    NO_BUDGETS,
    Budgets,
    budget_reference_issues,
    parse_budgets,
)
from llm_gateway.config.catalog import Catalog, ProviderConfig
from llm_gateway.config.crosscheck import (
    BUILTIN_PROVIDERS,
    NODES_FILE,
    POLICIES_FILE,
    cross_check,
    fallback_issues,
)
from llm_gateway.config.schema import NodeSpec, PolicySpec, ProviderSpec
from llm_gateway.config.yaml_source import read_yaml
from llm_gateway.errors import ConfigError, ConfigIssue
from llm_gateway.limits.spec import LIMITS_FILE, NO_LIMITS, LimitsConfig, parse_limits
from llm_gateway.model_policy import ModelPolicy, NodeRequirements

__all__ = [
    "NODES_FILE",
    "POLICIES_FILE",
    "cross_check",
    "format_path",
    "load_catalog",
    "validate_config_dir",
]

_Spec = TypeVar("_Spec", bound=BaseModel)


class _Section:
    """The valid entries of one section, and the names of all its entries (valid or not)."""

    def __init__(self) -> None:
        self.valid: dict[str, Any] = {}
        self.names: set[str] = set()
        self.invalid_raw: dict[str, Any] = {}
        self.complete = True


def load_catalog(config_dir: Path | None = None) -> Catalog:
    """Parse, cross-check and freeze the two files. Raises ConfigError listing every issue."""
    directory = Path(config_dir) if config_dir is not None else _default_dir()
    issues: list[ConfigIssue] = []
    digest = hashlib.sha256()
    policies_data = read_yaml(directory / POLICIES_FILE, issues, digest)
    nodes_data = read_yaml(directory / NODES_FILE, issues, digest)
    budgets = _budgets(directory, issues, digest)
    top_p = _top_level(POLICIES_FILE, policies_data, {"policies"}, {"providers"}, issues)
    top_n = _top_level(NODES_FILE, nodes_data, {"nodes"}, set(), issues)
    providers = _section(POLICIES_FILE, top_p, "providers", ProviderSpec, issues)
    policies = _section(POLICIES_FILE, top_p, "policies", PolicySpec, issues)
    nodes = _section(NODES_FILE, top_n, "nodes", NodeSpec, issues)
    limits = _limits(directory, issues, digest)
    catalog = _build(
        providers, policies, nodes, directory, digest.hexdigest()[:16], budgets, limits
    )
    if policies.complete and nodes.complete:
        issues.extend(budget_reference_issues(budgets, catalog.nodes, catalog.policies))
    issues.extend(
        cross_check(
            catalog,
            known_models=policies.names,
            known_providers=set(catalog.providers) | providers.names,
            check_servable=policies.complete and nodes.complete,
        )
    )
    issues.extend(_unparsed_fallback_issues(policies))
    issues.extend(limits_node_issues(limits, nodes.names))
    if issues:
        raise ConfigError(issues)
    return catalog


def validate_config_dir(config_dir: Path | None = None) -> list[ConfigIssue]:
    """Every issue of the directory's files, or ``[]`` when they are valid."""
    try:
        load_catalog(config_dir)
    except ConfigError as exc:
        return exc.issues
    return []


def _budgets(directory: Path, issues: list[ConfigIssue], digest: Any) -> Budgets:
    """``budgets.yaml`` when the directory has one (it is optional)."""
    path = directory / BUDGETS_FILE
    if not path.exists():
        return NO_BUDGETS
    return parse_budgets(read_yaml(path, issues, digest), issues)


def _unparsed_fallback_issues(policies: _Section) -> list[ConfigIssue]:
    """Fallback references of entries that failed to parse are still checked when the list
    itself is well-formed, so that fixing one error does not reveal the next."""
    issues: list[ConfigIssue] = []
    for lid, raw in policies.invalid_raw.items():
        fallbacks = raw.get("fallback_models") if isinstance(raw, dict) else None
        if isinstance(fallbacks, list) and all(isinstance(f, str) for f in fallbacks):
            issues.extend(fallback_issues(lid, fallbacks, policies.names))
    return issues


def _default_dir() -> Path:
    from llm_gateway.settings import get_settings

    return get_settings().config_dir


def _top_level(
    file: str,
    data: Any,
    required: set[str],
    optional: set[str],
    issues: list[ConfigIssue],
) -> Mapping[str, Any] | None:
    """The file's top-level mapping after checking its keys; ``None`` when unusable."""
    if data is None:
        return None
    if not isinstance(data, dict):
        issues.append(ConfigIssue(file, "", "expected a mapping at the top level"))
        return None
    allowed = required | optional
    for key in data:
        if key not in allowed:
            expected = ", ".join(sorted(allowed))
            issues.append(
                ConfigIssue(
                    file,
                    format_path([key]),
                    f"unknown field '{format_path([key])}' (expected {expected})",
                )
            )
    for key in sorted(required - set(data)):
        issues.append(ConfigIssue(file, key, "missing required section"))
    return data


def _section(
    file: str,
    top: Mapping[str, Any] | None,
    name: str,
    spec: type[_Spec],
    issues: list[ConfigIssue],
) -> _Section:
    """Validate every entry of ``top[name]`` with ``spec``; invalid entries are reported."""
    section = _Section()
    required = name != "providers"
    if top is None or name not in top or (top[name] is None and not required):
        # a missing required section is reported by _top_level; its entries are unknown
        section.complete = top is not None and not required
        return section
    entries = top[name]
    if not isinstance(entries, dict):
        issues.append(ConfigIssue(file, name, "expected a mapping of names to entries"))
        section.complete = False
        return section
    for key, value in entries.items():
        if not isinstance(key, str) or not key:
            issues.append(ConfigIssue(file, f"{name}.{key}", "entry names must be non-empty text"))
            section.complete = False
            continue
        section.names.add(key)
        try:
            section.valid[key] = spec.model_validate({} if value is None else value)
        except ValidationError as exc:
            issues.extend(issues_from(file, (name, key), exc))
            section.invalid_raw[key] = value
            section.complete = False
    return section


def issues_from(
    file: str, prefix: tuple[str | int, ...], exc: ValidationError
) -> list[ConfigIssue]:
    issues = []
    for error in exc.errors(include_url=False):
        loc = (*prefix, *error["loc"])
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = f"unknown field '{loc[-1]}'"
        elif error["type"] in ("enum", "literal_error"):
            expected = error.get("ctx", {}).get("expected", "")
            message = f"unknown value {_quoted(error['input'])}; expected {expected}"
        elif error["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        elif error["type"] == "model_type" and loc == prefix:
            message = "expected a mapping of fields"
        issues.append(ConfigIssue(file, format_path(loc), message))
    return issues


def _quoted(value: Any, limit: int = 40) -> str:
    """A value of the file, quoted for a message: short values whole, long ones cut."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…"


def format_path(loc: Sequence[Any]) -> str:
    """``('policies', 'x', 'fallback_models', 1)`` → ``policies.x.fallback_models[1]``.

    Pydantic marks an invalid mapping *key* with a trailing ``'[key]'``; the path then names the
    key itself (``policies.x.capabilities.telepathy``).
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        else:
            name = str(part) if len(str(part)) <= 64 else f"{str(part)[:64]}…"
            out += f".{name}" if out else name
    return out


def _limits(directory: Path, issues: list[ConfigIssue], digest: Any) -> LimitsConfig:
    """``limits.yaml`` when the directory has one (it is optional), else no limits."""
    path = directory / LIMITS_FILE
    if not path.exists():
        return NO_LIMITS
    data = read_yaml(path, issues, digest)
    if data is None:
        return NO_LIMITS
    try:
        return parse_limits(data)
    except ValidationError as exc:
        issues.extend(issues_from(LIMITS_FILE, (), exc))
        return NO_LIMITS


def limits_node_issues(limits: LimitsConfig, nodes: set[str]) -> list[ConfigIssue]:
    """Node limits name a node entry of ``node_requirements.yaml``, ``default`` or ``*``."""
    known = nodes | {"default", "*"}
    return [
        ConfigIssue(
            LIMITS_FILE,
            f"limits.nodes.{name}",
            f"unknown node '{name}' (an entry of {NODES_FILE}, 'default' or '*')",
        )
        for name in limits.nodes
        if name not in known
    ]


def _build(
    providers: _Section,
    policies: _Section,
    nodes: _Section,
    directory: Path,
    version: str,
    budgets: Budgets,
    limits: LimitsConfig = NO_LIMITS,
) -> Catalog:
    configured = {name: _provider(name, spec) for name, spec in providers.valid.items()}
    return Catalog(
        policies=MappingProxyType(
            {lid: _policy(lid, spec) for lid, spec in policies.valid.items()}
        ),
        nodes=MappingProxyType({name: _node(name, spec) for name, spec in nodes.valid.items()}),
        providers=MappingProxyType({**BUILTIN_PROVIDERS, **configured}),
        config_dir=directory,
        version=version,
        budgets=budgets,
        limits=limits,
    )


def _provider(name: str, spec: ProviderSpec) -> ProviderConfig:
    return ProviderConfig(
        name=name,
        kind=spec.kind,
        base_url=spec.base_url,
        api_key_env=spec.api_key_env,
        headers=MappingProxyType(dict(spec.headers)),
        max_connections=spec.max_connections,
    )


def _policy(logical_id: str, spec: PolicySpec) -> ModelPolicy:
    fields = spec.model_dump(exclude={"capabilities", "fallback_models", "deadlines"})
    return ModelPolicy(
        logical_id=logical_id,
        capabilities=frozenset(cap for cap, on in spec.capabilities.items() if on),
        fallback_models=tuple(spec.fallback_models),
        deadlines=spec.deadlines,
        **fields,
    )


def _node(name: str, spec: NodeSpec) -> NodeRequirements:
    fields = spec.model_dump(
        exclude={"required_capabilities", "preferred_capabilities", "deadlines", "cache"}
    )
    return NodeRequirements(
        node_name=name,
        required_capabilities=frozenset(spec.required_capabilities),
        preferred_capabilities=frozenset(spec.preferred_capabilities),
        deadlines=spec.deadlines,
        cache_ttl_s=spec.cache.ttl_s if spec.cache is not None else None,
        **fields,
    )
