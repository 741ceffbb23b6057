"""Load the config directory in two phases: parse strictly, then cross-check and freeze.

Every problem is collected as a :class:`ConfigIssue` naming the file and the key path
(``model_policies.yaml: policies.claude-sonnet.fallback_models[1]: unknown model 'gpt-5'``) and
all of them are raised together in one :class:`ConfigError`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from llm_gateway.config.catalog import Catalog, ProviderConfig
from llm_gateway.config.schema import NodesFile, NodeSpec, PoliciesFile, PolicySpec
from llm_gateway.errors import ConfigError, ConfigIssue
from llm_gateway.model_policy import ModelPolicy, NodeRequirements

POLICIES_FILE = "model_policies.yaml"
NODES_FILE = "node_requirements.yaml"
BUILTIN_PROVIDERS = {
    "openrouter": ProviderConfig(name="openrouter", kind="openrouter"),
    "simulated": ProviderConfig(name="simulated", kind="simulated"),
}

_Model = TypeVar("_Model", bound=BaseModel)


def load_catalog(config_dir: Path | None = None) -> Catalog:
    """Parse, cross-check and freeze the two files. Raises ConfigError listing every issue."""
    directory = Path(config_dir) if config_dir is not None else _default_dir()
    issues: list[ConfigIssue] = []
    digest = hashlib.sha256()
    policies_file = _parse(directory / POLICIES_FILE, PoliciesFile, issues, digest)
    nodes_file = _parse(directory / NODES_FILE, NodesFile, issues, digest)
    if policies_file is None or nodes_file is None:
        raise ConfigError(issues)
    catalog = _build(policies_file, nodes_file, directory, digest.hexdigest()[:16])
    issues.extend(cross_check(catalog))
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


def _default_dir() -> Path:
    from llm_gateway.settings import get_settings

    return get_settings().config_dir


def _parse(
    path: Path, model: type[_Model], issues: list[ConfigIssue], digest: Any
) -> _Model | None:
    name = path.name
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        issues.append(ConfigIssue(name, "", f"file not found at {path}"))
        return None
    except OSError as exc:
        issues.append(ConfigIssue(name, "", f"cannot read {path}: {exc.strerror}"))
        return None
    digest.update(text)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        issues.append(ConfigIssue(name, where, f"invalid YAML: {problem}"))
        return None
    if not isinstance(data, dict):
        issues.append(ConfigIssue(name, "", "expected a mapping at the top level"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        issues.extend(_issues_from(name, exc))
        return None


def _issues_from(file: str, exc: ValidationError) -> list[ConfigIssue]:
    issues = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = f"unknown field '{loc[-1]}'"
        elif error["type"] == "enum":
            expected = error.get("ctx", {}).get("expected", "")
            message = f"unknown value {error['input']!r}; expected {expected}"
        if error["type"] == "enum" and _is_dict_key(loc):
            loc = loc[:-1]
        issues.append(ConfigIssue(file, format_path(loc), message))
    return issues


def _is_dict_key(loc: Sequence[Any]) -> bool:
    return bool(loc) and loc[-1] == "[key]"


def format_path(loc: Sequence[Any]) -> str:
    """``('policies', 'x', 'fallback_models', 1)`` → ``policies.x.fallback_models[1]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _build(policies: PoliciesFile, nodes: NodesFile, directory: Path, version: str) -> Catalog:
    providers = dict(BUILTIN_PROVIDERS)
    for name, spec in policies.providers.items():
        providers[name] = ProviderConfig(
            name=name,
            kind=spec.kind,
            base_url=spec.base_url,
            api_key_env=spec.api_key_env,
            headers=MappingProxyType(dict(spec.headers)),
            max_connections=spec.max_connections,
        )
    return Catalog(
        policies=MappingProxyType(
            {lid: _policy(lid, spec) for lid, spec in policies.policies.items()}
        ),
        nodes=MappingProxyType({name: _node(name, spec) for name, spec in nodes.nodes.items()}),
        providers=MappingProxyType(providers),
        config_dir=directory,
        version=version,
    )


def _policy(logical_id: str, spec: PolicySpec) -> ModelPolicy:
    fields = spec.model_dump(exclude={"capabilities", "fallback_models"})
    return ModelPolicy(
        logical_id=logical_id,
        capabilities=frozenset(cap for cap, on in spec.capabilities.items() if on),
        fallback_models=tuple(spec.fallback_models),
        **fields,
    )


def _node(name: str, spec: NodeSpec) -> NodeRequirements:
    fields = spec.model_dump(exclude={"required_capabilities", "preferred_capabilities"})
    return NodeRequirements(
        node_name=name,
        required_capabilities=frozenset(spec.required_capabilities),
        preferred_capabilities=frozenset(spec.preferred_capabilities),
        **fields,
    )


def cross_check(catalog: Catalog) -> list[ConfigIssue]:
    """Phase two: references resolve, every node is servable, defaults are eligible."""
    from llm_gateway.selection.constraints import hard_constraint_failures

    issues: list[ConfigIssue] = []
    policies = catalog.policies
    for lid, policy in policies.items():
        where = f"policies.{lid}"
        if policy.provider not in catalog.providers:
            known = ", ".join(sorted(catalog.providers))
            issues.append(
                ConfigIssue(
                    POLICIES_FILE,
                    f"{where}.provider",
                    f"unknown provider '{policy.provider}' (known: {known})",
                )
            )
        for i, fallback in enumerate(policy.fallback_models):
            if fallback not in policies:
                issues.append(
                    ConfigIssue(
                        POLICIES_FILE,
                        f"{where}.fallback_models[{i}]",
                        f"unknown model '{fallback}'",
                    )
                )
            elif fallback == lid:
                issues.append(
                    ConfigIssue(
                        POLICIES_FILE,
                        f"{where}.fallback_models[{i}]",
                        "a model cannot be its own fallback",
                    )
                )
        if policy.max_output_tokens and policy.max_output_tokens > policy.context_window:
            issues.append(
                ConfigIssue(
                    POLICIES_FILE,
                    f"{where}.max_output_tokens",
                    f"{policy.max_output_tokens} exceeds context_window {policy.context_window}",
                )
            )
    for name, node in catalog.nodes.items():
        where = f"nodes.{name}"
        if node.default_model is not None:
            default = policies.get(node.default_model)
            if default is None:
                issues.append(
                    ConfigIssue(
                        NODES_FILE,
                        f"{where}.default_model",
                        f"unknown model '{node.default_model}'",
                    )
                )
            else:
                failed = hard_constraint_failures(default, node)
                if failed:
                    issues.append(
                        ConfigIssue(
                            NODES_FILE,
                            f"{where}.default_model",
                            f"'{node.default_model}' fails: {'; '.join(failed)}",
                        )
                    )
        eligible = [
            p for p in policies.values() if p.enabled and not hard_constraint_failures(p, node)
        ]
        if not eligible:
            reasons = "; ".join(
                f"{lid}: {', '.join(hard_constraint_failures(p, node)) or 'disabled'}"
                for lid, p in policies.items()
            )
            issues.append(
                ConfigIssue(NODES_FILE, where, f"no model satisfies this node ({reasons})")
            )
    return issues
