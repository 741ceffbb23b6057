"""The values one request carries through the gateway: the caller's route, the plan made for it,
each attempt's record and the final response."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from llm_gateway.cost import ZERO_COST, CostBreakdown
from llm_gateway.model_policy import Deadlines, ModelPolicy, NodeRequirements
from llm_gateway.model_selector import SelectionResult
from llm_gateway.providers.base import Usage
from llm_gateway.selection.scoring import SelectionStrategy

if TYPE_CHECKING:
    from llm_gateway.cache.directive import CacheDirective

# A conservative generation speed: a non-streaming answer of N tokens gets N / this many seconds
# on top of the headers deadline, since OpenAI-style servers send headers only once it is done.
MIN_TOKENS_PER_S = 40.0


_RESOLVED: dict[tuple[int, int, int, int | None], tuple[Deadlines, ...]] = {}


def resolve_deadlines(
    node: Deadlines, model: Deadlines, default: Deadlines, non_stream_output_tokens: int | None
) -> Deadlines:
    """Merge node over model over default. Cached by identity (hashing pydantic models costs
    more than merging them); the entry keeps its inputs alive so an id is never reused."""
    key = (id(node), id(model), id(default), non_stream_output_tokens)
    hit = _RESOLVED.get(key)
    if hit is not None and hit[0] is node and hit[1] is model and hit[2] is default:
        return hit[3]
    if len(_RESOLVED) > 4096:
        _RESOLVED.clear()
    resolved = _resolve(node, model, default, non_stream_output_tokens)
    _RESOLVED[key] = (node, model, default, resolved)
    return resolved


def _resolve(
    node: Deadlines, model: Deadlines, default: Deadlines, non_stream_output_tokens: int | None
) -> Deadlines:
    merged = node.merged_over(model.merged_over(default))
    if non_stream_output_tokens is None:
        return merged
    generation_s = non_stream_output_tokens / MIN_TOKENS_PER_S
    headers_s = (merged.headers_s or 0.0) + generation_s
    if merged.total_s is not None:
        headers_s = min(headers_s, merged.total_s)
    return merged.model_copy(update={"headers_s": headers_s})


@dataclass(frozen=True, slots=True)
class Route:
    """Who asks and for what: node, strategy, trace id, caller identity, an explicit model.

    ``node_name`` is the node selection serves (a configured node, one matching a pattern
    entry, else ``default``); ``node_label`` the bounded name it is counted under in metrics and
    aggregates (see ``Catalog.node_label``); ``caller_node`` what the caller asked for when that
    differs (capped, kept in the trace only).
    """

    node_name: str = "default"
    node_label: str = "default"
    caller_node: str | None = None
    strategy: SelectionStrategy | None = None
    trace_id: str | None = None
    user_id: str | None = None
    api_key_id: str | None = None
    requested_model: str | None = None
    capabilities: tuple[str, ...] = ()
    cache: CacheDirective | None = None  # the request's X-Gateway-Cache
    traceparent: str | None = None  # the caller's W3C header, kept only when OTel is on
    arm: str | None = None  # the rollout arm of a legacy call (v2, shadow); None: not rolled out


@dataclass(slots=True)
class AttemptRecord:
    """One call to one model: outcome, timing, and the error when it failed."""

    model: str
    provider: str
    started_at: float
    duration_ms: float
    ok: bool
    error: str | None = None
    error_type: str | None = None
    upstream_status: int | None = None
    retry_index: int = 0
    decision: str | None = None
    skipped: bool = False
    billed: dict[str, Any] | None = None  # a cut stream attempt's share of the bill

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "provider": self.provider,
            "duration_ms": round(self.duration_ms, 3),
            "ok": self.ok,
            "retry_index": self.retry_index,
        }
        for name in ("error", "error_type", "upstream_status", "decision", "billed"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.skipped:
            out["skipped"] = True
        return out


@dataclass(slots=True)
class Plan:
    """What the gateway decided before calling anyone."""

    request: Mapping[str, Any]
    route: Route
    trace_id: str
    selection: SelectionResult
    requirements: NodeRequirements
    deadlines_default: Deadlines
    deadline_at: float
    started_at: float
    input_tokens: int
    output_tokens: int
    stream: bool
    include_usage: bool = False
    attempts: list[AttemptRecord] = field(default_factory=list)
    reservation: Any = None
    request_id: str = ""  # made by the gateway, unique: the ledger row's and the trace's key
    ttft_ms: float | None = None  # streams: when the first token was ready to send
    answer_text: str | None = None  # the answer's text, for traces that keep content
    cache_saved: Decimal | None = None  # answered from the cache: what the answer cost then
    answer_headers: dict[str, str] = field(default_factory=dict)  # set by admission hooks
    finish_reason: str | None = None  # the answer's, when known (streams; OTel on: complete)
    rate_reservations: Any = None  # what the rate limiter reserved for it (limits/limiter.py)

    def deadlines_for(self, policy: ModelPolicy) -> Deadlines:
        """Node deadlines over the model's over the defaults; for a non-streaming attempt the
        headers deadline also covers generating the answer (see :func:`resolve_deadlines`)."""
        return resolve_deadlines(
            self.requirements.deadlines,
            policy.deadlines,
            self.deadlines_default,
            None if self.stream else self.output_tokens,
        )


@dataclass(slots=True)
class GatewayResponse:
    """A complete answer: the OpenAI body (``model`` = the logical id that answered) and how."""

    body: dict[str, Any]
    model: ModelPolicy
    usage: Usage | None
    cost: CostBreakdown = ZERO_COST
    attempts: list[AttemptRecord] = field(default_factory=list)
    trace_id: str = ""
    overhead_ms: float = 0.0
    duration_ms: float = 0.0
    cache: str | None = None  # "hit" or "miss" when the response cache was asked
    headers: dict[str, str] = field(default_factory=dict)  # the admission hooks' (budgets)
