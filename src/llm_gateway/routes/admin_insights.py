"""Admin: read-only views — health, selection dry-run, cost, traces, validation, recommendations.

Nothing here calls a model or changes state.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from llm_gateway.config.reading import ConfigReadTimeout, read_catalog
from llm_gateway.errors import ConfigError, NotFound, echo
from llm_gateway.gateway import LLMGateway
from llm_gateway.model_selector import SelectionContext
from llm_gateway.routes.admin_models import (
    CostOptimizationOut,
    HealthOut,
    RecommendationsOut,
    SelectionOut,
    TestSelectionRequest,
    TraceOut,
    TracesOut,
    ValidateOut,
)
from llm_gateway.routes.cost_optimization import cost_optimization_report, ledger_evidence
from llm_gateway.routes.deps import gateway_of
from llm_gateway.routes.overrides import node_selection_errors, override_problems, require_node
from llm_gateway.routes.route_classes import GatewayRoute
from llm_gateway.storage import queries

router = APIRouter(route_class=GatewayRoute)

MAX_HOURS = 24 * 366


@router.get(
    "/health", response_model=HealthOut, summary="Gateway health: providers, models, circuits"
)
async def health(request: Request) -> dict[str, Any]:
    """``overall_status`` is healthy, degraded or unhealthy; no paid endpoint is called."""
    return await gateway_of(request).health_check()


@router.post("/test-selection", response_model=SelectionOut, summary="Dry-run model selection")
async def test_selection(body: TestSelectionRequest, request: Request) -> dict[str, Any]:
    """The selection, chain and reasons for a node and capabilities, without calling any model.

    422 when no model qualifies (every model and why it was rejected).
    """
    gateway = gateway_of(request)
    context = SelectionContext(
        node_name=body.node_name,
        capabilities=[c.value for c in body.capabilities],
        strategy=body.strategy,
    )
    result = gateway.selector.select(context)
    out = result.as_dict()
    out["chain"] = [result.selected_model.logical_id, *result.fallback_chain]
    out["node_configured"] = gateway.registry.get_node(body.node_name) is not None
    return out


@router.get(
    "/cost-optimization",
    response_model=CostOptimizationOut,
    summary="Savings per node from the ledger: cheaper eligible models, realised vs v1",
)
async def cost_optimization(
    request: Request,
    days: float = Query(30.0, gt=0, le=MAX_HOURS / 24, description="Window in days"),
    hours: float | None = Query(None, gt=0, le=MAX_HOURS, description="Window in hours"),
) -> dict[str, Any]:
    """Computed from every request's tokens and exact cost in the ledger (docs/cost-report.md);
    ``hours``, when given, sets the window instead of ``days``."""
    return await cost_optimization_report(
        gateway_of(request), hours / 24 if hours is not None else days
    )


@router.get("/traces", response_model=TracesOut, summary="Recent traces and their metrics")
async def list_traces(
    request: Request,
    hours: float = Query(1.0, gt=0, le=MAX_HOURS),
    limit: int = Query(100, ge=1, le=1000),
    errors_only: bool = Query(False, description="Only failed requests"),
    node: str | None = Query(None, max_length=128, description="Only this node"),
    model: str | None = Query(None, max_length=128, description="Only this answering model"),
    status: str | None = Query(
        None,
        pattern="^(ok|error|refused|cancelled)?$",
        description="Only requests that ended so: answered, failed, refused before any call "
        "(a budget, a rate limit), abandoned by the caller mid-stream",
    ),
) -> dict[str, Any]:
    """Sampled traces (failures always kept), newest first; metrics count every request.
    With a record store, both are read from it: every replica's, surviving restarts."""
    gateway = gateway_of(request)
    tracer = gateway.tracer
    records = gateway.records
    if records is not None:
        await records.writer.flush()
        traces = await queries.list_traces(
            records.store,
            hours,
            limit,
            node=node,
            model=model,
            errors_only=errors_only,
            status=status or None,
        )
    else:
        traces = tracer.list_traces(
            hours, limit, errors_only=errors_only, node=node, model=model, status=status
        )
    metrics = await tracer.get_trace_metrics(hours=hours, node=node, model=model)
    return {"hours": hours, "count": len(traces), "traces": traces, "metrics": metrics}


@router.get(
    "/traces/{trace_id}",
    response_model=TraceOut,
    summary="One trace: selection, attempts, usage, cost",
)
async def get_trace(trace_id: str, request: Request) -> dict[str, Any]:
    gateway = gateway_of(request)
    tracer = gateway.tracer
    records = gateway.records
    if records is not None:
        await records.writer.flush()
        trace = await queries.get_trace(records.store, trace_id)
    else:
        trace = tracer.get_trace(trace_id)
    if trace is None:
        raise NotFound(
            f"no trace '{echo(trace_id)}' (traces are kept for a sampled share of successful "
            f"requests, rate {tracer.sampling_rate:g}, and for every failure)",
            param="trace_id",
        )
    return trace


@router.get("/validate", response_model=ValidateOut, summary="Validate config files and state")
async def validate(request: Request) -> dict[str, Any]:
    """The files on disk (every issue), and the live state: can every node be served, does
    every override still apply, are the files newer than what is loaded."""
    gateway = gateway_of(request)
    registry = gateway.registry
    try:
        on_disk = await read_catalog(registry.reload_dir)
        issues: list[str] = []
        located: list[dict[str, str]] = []
    except ConfigError as exc:
        on_disk, issues = None, [str(issue) for issue in exc.issues]
        located = [issue.as_dict() for issue in exc.issues]
    except ConfigReadTimeout as exc:
        on_disk, issues, located = None, [str(exc)], []
    node_errors = node_selection_errors(gateway)
    bad_overrides = _override_issues(gateway)
    return {
        "valid": not issues and not node_errors and not bad_overrides,
        "config_dir": str(registry.config_dir),
        "files": {"valid": not issues, "issues": issues, "located": located},
        "live": {
            "config_version": registry.version,
            "files_version": on_disk.version if on_disk else None,
            "reload_pending": bool(on_disk and on_disk.version != registry.version),
            "models": len(registry.get_all_policies()),
            "nodes": len(registry.get_all_nodes()),
            "unservable_nodes": node_errors,
            "override_issues": bad_overrides,
        },
    }


@router.get(
    "/recommendations/{node}",
    response_model=RecommendationsOut,
    summary="Ranked model options for a node",
)
async def recommendations(node: str, request: Request) -> dict[str, Any]:
    """Options with estimated cost per 1k requests, each strategy's pick, performance data, and
    ``last_30_days``: the eligible models ranked on the node's last 30 days of the ledger."""
    gateway = gateway_of(request)
    require_node(gateway, node)
    out = await gateway.selector.get_model_recommendations(node)
    out["last_30_days"] = await ledger_evidence(gateway, node)
    return out


def _override_issues(gateway: LLMGateway) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for node, override in gateway.signals.snapshot().overrides.items():
        problems = override_problems(gateway, node, override.model_id)[1]
        if gateway.registry.get_node(node) is None:
            problems = [f"node '{node}' is no longer configured", *problems]
        if problems:
            out[node] = problems
    return out
