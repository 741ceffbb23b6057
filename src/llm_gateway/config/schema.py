"""The exact shape of ``model_policies.yaml`` and ``node_requirements.yaml``.

Phase one of loading: these pydantic models accept the guide's format and the documented optional
fields, and nothing else (``extra="forbid"``). Scalars are strict: a count must be an integer, a
flag a YAML boolean and a price a number, never a string or a boolean that pydantic would
otherwise coerce (``"yes"`` is not ``true``, ``true`` is not ``1``). Cross-references are checked
afterwards by :mod:`llm_gateway.config.crosscheck`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

from llm_gateway.model_policy import Capability, CostTier, Deadlines

ProviderKind = Literal["openai_compatible", "openrouter", "simulated"]
StrategyName = Literal["balanced", "cost_optimized", "quality_optimized", "latency_optimized"]


def _number_only(value: Any) -> Any:
    """Refuse strings and booleans where a price is expected (pydantic would coerce them)."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, str):
        raise ValueError(
            f"expected a number, got the string {value!r} (YAML reads 3e-4 as text: "
            "write 3.0e-4 or 0.0003, without quotes)"
        )
    return value


Price = Annotated[Decimal, BeforeValidator(_number_only), Field(ge=0, allow_inf_nan=False)]
"""USD per 1,000 tokens: a finite, non-negative number."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProviderSpec(_Strict):
    """An entry of the optional ``providers:`` section: an OpenAI-compatible endpoint."""

    kind: ProviderKind = "openai_compatible"
    base_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    headers: dict[str, str] = {}
    max_connections: StrictInt = Field(default=256, ge=1)


class PolicySpec(_Strict):
    """An entry of ``policies:``; the first eight fields are the guide's."""

    provider: str = Field(min_length=1)
    provider_model_id: str = Field(min_length=1)
    capabilities: dict[Capability, StrictBool]
    cost_tier: CostTier
    context_window: StrictInt = Field(gt=0)
    input_cost_per_1k: Price
    output_cost_per_1k: Price
    fallback_models: list[str] = []
    # documented optional fields
    cached_input_cost_per_1k: Price | None = None
    reasoning_cost_per_1k: Price | None = None
    max_output_tokens: StrictInt | None = Field(default=None, gt=0)
    quality_score: float | None = Field(default=None, ge=0, le=1, strict=True)
    typical_latency_ms: float | None = Field(default=None, ge=0, strict=True)
    deadlines: Deadlines = Deadlines()
    enabled: StrictBool = True
    description: str = ""
    # rate limits of the provider model (per minute, shared by every replica; see limits/)
    rpm: StrictInt | None = Field(default=None, gt=0)
    tpm: StrictInt | None = Field(default=None, gt=0)


class NodeCache(_Strict):
    """``cache:`` of a node: answer its deterministic requests from the response cache."""

    ttl_s: float = Field(gt=0, le=7 * 24 * 3600, strict=True)


class NodeSpec(_Strict):
    """An entry of ``nodes:``; the first five fields are the guide's."""

    required_capabilities: list[Capability] = []
    preferred_capabilities: list[Capability] = []
    min_context_window: StrictInt = Field(default=0, ge=0)
    max_cost_tier: CostTier = CostTier.PREMIUM
    reasoning_required: StrictBool = False
    # documented optional fields
    default_model: str | None = None
    default_strategy: StrategyName | None = None
    fallback_outside_requirements: StrictBool = False
    fallback_on_content_filter: StrictBool = False
    deadlines: Deadlines = Deadlines()
    cache: NodeCache | None = None
    description: str = ""


class PoliciesFile(_Strict):
    """The whole of ``model_policies.yaml`` (for reference and JSON Schema export; the loader
    validates entry by entry so that one bad entry does not hide the others' problems)."""

    providers: dict[str, ProviderSpec] = {}
    policies: dict[str, PolicySpec]


class NodesFile(_Strict):
    """The whole of ``node_requirements.yaml`` (see :class:`PoliciesFile`)."""

    nodes: dict[str, NodeSpec]
