"""Scenarios: how the simulated models behave (latency, prices, answer length) and which faults
they inject. The format is documented in ``docs/simulator.md``.

A scenario is parsed strictly (unknown keys are errors, reported as one
:class:`~llm_gateway.errors.ConfigError` naming each key path) and frozen. Per-model settings
resolve field by field: the model's own entry, then values derived from a gateway
:class:`~llm_gateway.model_policy.ModelPolicy` (the in-process provider passes one), then the
``"*"`` entry, then :data:`BUILTIN`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from llm_gateway.config.loader import format_path
from llm_gateway.errors import ConfigError, ConfigIssue
from llm_gateway.model_policy import ModelPolicy

FaultKind = Literal[
    "error",
    "connection_reset",
    "hang_up",
    "no_response",
    "slow_first_token",
    "stream_cut",
    "stream_stall",
    "malformed_chunk",
    "missing_done",
    "context_length",
    "moderation",
    "content_filter",
    "stream_error",
    "finish_content_filter",
    "down",
    "reject_prefill",
]

_REQUIRED_BY_KIND = {
    "error": "status",
    "slow_first_token": "delay_s",
    "stream_stall": "stall_s",
    "down": "duration_s",
}


class FaultSpec(BaseModel):
    """One injected fault. Which attempts it hits: from attempt ``after_attempts + 1`` of the model
    on, each with ``probability`` (seeded), at most ``times`` times (unlimited when unset)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    times: int | None = Field(default=None, ge=1)
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    after_attempts: int = Field(default=0, ge=0)
    status: int | None = Field(default=None, ge=400, le=599)
    code: int | str | None = None
    message: str | None = None
    retry_after: float | None = Field(default=None, ge=0)
    metadata: dict[str, Any] | None = None
    reasons: tuple[str, ...] = ("violence",)
    delay_s: float | None = Field(default=None, gt=0)
    after_tokens: int = Field(default=0, ge=0)
    stall_s: float | None = Field(default=None, gt=0)
    duration_s: float | None = Field(default=None, gt=0)
    hold_s: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _kind_fields(self) -> FaultSpec:
        needed = _REQUIRED_BY_KIND.get(self.kind)
        if needed is not None and getattr(self, needed) is None:
            raise ValueError(f"fault kind '{self.kind}' needs '{needed}'")
        return self


class ModelSpec(BaseModel):
    """One entry of ``models:``; every field optional (unset fields inherit)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    provider_name: str | None = None
    context_length: int | None = Field(default=None, gt=0)
    max_completion_tokens: int | None = Field(default=None, gt=0)
    ttft_s: float | None = Field(default=None, ge=0)
    tokens_per_s: float | None = Field(default=None, gt=0)
    input_cost_per_1k: Decimal | None = Field(default=None, ge=0)
    output_cost_per_1k: Decimal | None = Field(default=None, ge=0)
    cached_input_cost_per_1k: Decimal | None = Field(default=None, ge=0)
    cached_prompt_ratio: float | None = Field(default=None, ge=0, le=1)
    reasoning_tokens: int | None = Field(default=None, ge=0)
    rejects_prefill: bool | None = None
    faults: tuple[FaultSpec, ...] | None = None


class AnswerSpec(BaseModel):
    """Answer length in words (one word = one streamed token); whether it depends on the model;
    scripted tool-call arguments by function name (they replace the generated properties)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_words: int = Field(default=12, ge=1, le=100_000)
    max_words: int = Field(default=48, ge=1, le=100_000)
    vary_by_model: bool = False
    tool_arguments: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> AnswerSpec:
        if self.min_words > self.max_words:
            raise ValueError("min_words must not exceed max_words")
        return self


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """A model's fully resolved behaviour (no unset field)."""

    id: str
    name: str
    provider_name: str
    context_length: int
    max_completion_tokens: int | None
    ttft_s: float
    tokens_per_s: float
    input_cost_per_1k: Decimal
    output_cost_per_1k: Decimal
    cached_input_cost_per_1k: Decimal
    cached_prompt_ratio: float
    reasoning_tokens: int
    rejects_prefill: bool
    faults: tuple[FaultSpec, ...]


BUILTIN = ModelSpec(
    context_length=128_000,
    ttft_s=0.3,
    tokens_per_s=60.0,
    input_cost_per_1k=Decimal("0.0005"),
    output_cost_per_1k=Decimal("0.0015"),
    cached_prompt_ratio=0.0,
    reasoning_tokens=0,
    rejects_prefill=False,
    faults=(),
)

_PROVIDER_NAMES = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "google": "Google",
    "meta-llama": "DeepInfra",
    "deepseek": "DeepSeek",
    "mistralai": "Mistral",
    "perplexity": "Perplexity",
    "x-ai": "xAI",
}


class Scenario(BaseModel):
    """A whole scenario file. ``profile(model_id)`` gives a model's resolved behaviour."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0
    zero_latency: bool = False
    processing_interval_s: float = Field(default=0.5, gt=0)
    strict_models: bool = False
    require_auth: bool = False
    answer: AnswerSpec = AnswerSpec()
    models: dict[str, ModelSpec] = Field(default_factory=dict)

    @classmethod
    def for_tests(cls, **fields: Any) -> Scenario:
        """Zero latency, everything else default: what unit tests and benchmarks want."""
        return cls.model_validate({"zero_latency": True, **fields})

    def knows(self, model_id: str) -> bool:
        """True when the scenario declares ``model_id`` (``strict_models`` refuses the others)."""
        return model_id in self.models

    def declared_models(self) -> list[str]:
        return [model_id for model_id in self.models if model_id != "*"]

    def profile(self, model_id: str, policy_spec: ModelSpec | None = None) -> ModelProfile:
        """The model's resolved behaviour; ``policy_spec`` (what a gateway policy implies, see
        :func:`policy_spec`) ranks between the model's own entry and ``"*"``."""
        layers = [self.models.get(model_id), policy_spec, self.models.get("*"), BUILTIN]
        specs = [layer for layer in layers if layer is not None]

        def pick(name: str) -> Any:
            for spec in specs:
                value = getattr(spec, name)
                if value is not None:
                    return value
            return None

        input_cost = pick("input_cost_per_1k")
        vendor = model_id.split("/", 1)[0] if "/" in model_id else "Simulated"
        return ModelProfile(
            id=model_id,
            name=pick("name") or model_id,
            provider_name=pick("provider_name") or _PROVIDER_NAMES.get(vendor, vendor.title()),
            context_length=pick("context_length"),
            max_completion_tokens=pick("max_completion_tokens"),
            ttft_s=0.0 if self.zero_latency else pick("ttft_s"),
            tokens_per_s=0.0 if self.zero_latency else pick("tokens_per_s"),
            input_cost_per_1k=input_cost,
            output_cost_per_1k=pick("output_cost_per_1k"),
            cached_input_cost_per_1k=pick("cached_input_cost_per_1k") or input_cost,
            cached_prompt_ratio=pick("cached_prompt_ratio"),
            reasoning_tokens=pick("reasoning_tokens"),
            rejects_prefill=pick("rejects_prefill"),
            faults=pick("faults"),
        )


ScenarioSource = Scenario | Mapping[str, Any] | Path | str | bytes | None


def policy_spec(policy: ModelPolicy) -> ModelSpec:
    """What a gateway policy implies for its model: prices, context window, output limit, and
    its typical latency as time to first token."""
    latency_ms = policy.typical_latency_ms
    return ModelSpec(
        context_length=policy.context_window,
        max_completion_tokens=policy.max_output_tokens,
        input_cost_per_1k=policy.input_cost_per_1k,
        output_cost_per_1k=policy.output_cost_per_1k,
        cached_input_cost_per_1k=policy.cached_input_cost_per_1k,
        ttft_s=latency_ms / 1000 if latency_ms is not None else None,
    )


def catalog_specs(config_dir: Path | None = None) -> dict[str, ModelSpec]:
    """:func:`policy_spec` of every policy of the gateway's config directory (default: the
    settings'), keyed by provider model id. Raises ConfigError when the config is invalid."""
    from llm_gateway.config.loader import load_catalog

    specs: dict[str, ModelSpec] = {}
    for policy in load_catalog(config_dir).policies.values():
        specs.setdefault(policy.provider_model_id, policy_spec(policy))
    return specs


def load_scenario(source: ScenarioSource = None, *, origin: str = "scenario") -> Scenario:
    """A Scenario from a Scenario, a mapping, a file path, or YAML/JSON text (``None`` → defaults).

    A ``str`` is YAML/JSON text when it contains a newline or a ``{``, else a file path.
    Raises ConfigError naming each invalid key path.
    """
    if source is None:
        return Scenario()
    if isinstance(source, Scenario):
        return source
    if isinstance(source, Mapping):
        return _validate(dict(source), origin)
    if isinstance(source, Path) or (isinstance(source, str) and not _looks_like_text(source)):
        path = Path(source)
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise ConfigError([ConfigIssue(path.name, "", f"cannot read {path}: {exc}")]) from exc
        return parse_scenario_text(text, origin=path.name)
    return parse_scenario_text(source, origin=origin)


def parse_scenario_text(text: str | bytes, *, origin: str = "scenario") -> Scenario:
    """Parse YAML or JSON text into a Scenario (an empty document gives the defaults)."""
    try:
        data = orjson.loads(text) if text.lstrip()[:1] in ("{", b"{") else yaml.safe_load(text)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError([ConfigIssue(origin, "", f"not valid YAML/JSON: {exc}")]) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue(origin, "", "a scenario must be a mapping")])
    return _validate(data, origin)


def _looks_like_text(value: str) -> bool:
    return "\n" in value or value.lstrip().startswith("{") or ": " in value


def _validate(data: dict[str, Any], origin: str) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        issues = [
            ConfigIssue(origin, format_path(error["loc"]), error["msg"])
            for error in exc.errors(include_url=False)
        ]
        raise ConfigError(issues) from exc
