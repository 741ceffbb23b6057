"""The exact shape of ``model_policies.yaml`` and ``node_requirements.yaml``.

Phase one of loading: these pydantic models accept the guide's format and the documented optional
fields, and nothing else (``extra="forbid"``). Cross-references are checked afterwards by
:mod:`llm_gateway.config.loader`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from llm_gateway.model_policy import Capability, CostTier, Deadlines

ProviderKind = Literal["openai_compatible", "openrouter", "simulated"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProviderSpec(_Strict):
    """An entry of the optional ``providers:`` section: an OpenAI-compatible endpoint."""

    kind: ProviderKind = "openai_compatible"
    base_url: str | None = None
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    headers: dict[str, str] = {}
    max_connections: int = Field(default=256, ge=1)


class PolicySpec(_Strict):
    """An entry of ``policies:``; the first eight fields are the guide's."""

    provider: str = Field(min_length=1)
    provider_model_id: str = Field(min_length=1)
    capabilities: dict[Capability, bool]
    cost_tier: CostTier
    context_window: int = Field(gt=0)
    input_cost_per_1k: Decimal = Field(ge=0)
    output_cost_per_1k: Decimal = Field(ge=0)
    fallback_models: list[str] = []
    # documented optional fields
    cached_input_cost_per_1k: Decimal | None = Field(default=None, ge=0)
    reasoning_cost_per_1k: Decimal | None = Field(default=None, ge=0)
    max_output_tokens: int | None = Field(default=None, gt=0)
    quality_score: float | None = Field(default=None, ge=0, le=1)
    typical_latency_ms: float | None = Field(default=None, ge=0)
    deadlines: Deadlines = Deadlines()
    enabled: bool = True
    description: str = ""


class PoliciesFile(_Strict):
    providers: dict[str, ProviderSpec] = {}
    policies: dict[str, PolicySpec]


class NodeSpec(_Strict):
    """An entry of ``nodes:``; the first five fields are the guide's."""

    required_capabilities: list[Capability] = []
    preferred_capabilities: list[Capability] = []
    min_context_window: int = Field(default=0, ge=0)
    max_cost_tier: CostTier = CostTier.PREMIUM
    reasoning_required: bool = False
    # documented optional fields
    default_model: str | None = None
    default_strategy: (
        Literal["balanced", "cost_optimized", "quality_optimized", "latency_optimized"] | None
    ) = None
    fallback_outside_requirements: bool = False
    fallback_on_content_filter: bool = False
    deadlines: Deadlines = Deadlines()
    description: str = ""


class NodesFile(_Strict):
    nodes: dict[str, NodeSpec]
