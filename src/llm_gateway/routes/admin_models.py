"""Request and response bodies of the admin API (documented in OpenAPI, validated by FastAPI).

Request bodies forbid unknown fields, so a typo is a 422 naming the field rather than a silently
ignored setting.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from llm_gateway.model_policy import Capability
from llm_gateway.selection.scoring import SelectionStrategy


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class TestSelectionRequest(_Body):
    """What to select for; nothing is called."""

    __test__ = False  # not a pytest test class, despite the name

    node_name: str = Field(min_length=1, max_length=128, examples=["formatter"])
    capabilities: list[Capability] = Field(default_factory=list, examples=[["streaming"]])
    strategy: SelectionStrategy | None = None


class OverrideRequest(_Body):
    model_id: str = Field(min_length=1, max_length=128, examples=["claude-sonnet"])
    mode: Literal["override"] = "override"
    force: bool = Field(
        False, description="Set it even when the model fails the node's hard requirements."
    )
    reason: str | None = Field(None, max_length=500, description="Kept in the audit log.")


class BulkUpdateRequest(_Body):
    updates: dict[str, str] = Field(
        min_length=1, examples=[{"writer": "gemini-2.5-pro", "evaluator": "claude-sonnet"}]
    )
    force: bool = False
    reason: str | None = Field(None, max_length=500)


class SelectionOut(_Out):
    node_name: str
    selected_model: str
    chain: list[str] = Field(description="The selected model, then the fallbacks in order.")
    fallback_chain: list[str]
    strategy: str
    reasons: list[str]
    rejected: dict[str, list[str]]


class PoliciesOut(_Out):
    config_version: str
    effective: dict[str, str | None] = Field(description="node → the model it gets now")
    nodes: dict[str, dict[str, Any]]


class Shared(_Out):
    """How many live replicas applied the change within a second (pending: those that did not
    yet; replicas None when the state store could not be asked)."""

    applied_by: int | None = None
    replicas: int | None = None
    pending: list[str] = []
    warning: str | None = None


class OverrideOut(Shared):
    node: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    effective_model: str | None
    warnings: list[str] = []


class BulkOut(Shared):
    applied: dict[str, dict[str, Any]]
    warnings: dict[str, list[str]] = {}


class ReloadOut(_Out):
    status: Literal["reloaded"]
    replicas: list[dict[str, Any]] = []
    config_version_before: str
    config_version: str
    models: int
    nodes: int
    warnings: list[str] = []


class ValidateOut(_Out):
    valid: bool
    config_dir: str
    files: dict[str, Any]
    live: dict[str, Any]


class TracesOut(_Out):
    hours: float
    count: int
    traces: list[dict[str, Any]]
    metrics: dict[str, Any]


class AuditOut(_Out):
    count: int
    entries: list[dict[str, Any]]


class HealthOut(_Out):
    overall_status: Literal["healthy", "degraded", "unhealthy"]
    providers: dict[str, Any]
    models: dict[str, Any]


class CostOptimizationOut(_Out):
    """The ledger's savings report (docs/cost-report.md); ``status`` is ``ok``, ``no_data``
    or ``disabled``."""

    enabled: bool
    status: Literal["ok", "no_data", "disabled"]
    nodes: list[dict[str, Any]] = []


class TraceOut(_Out):
    trace_id: str
    ok: bool
    node_name: str
    model: str | None = None
    attempts: list[dict[str, Any]] = []


class RecommendationsOut(_Out):
    node_name: str
    recommended: str | None = None
    options: list[dict[str, Any]] = []
    performance_data: dict[str, Any]
