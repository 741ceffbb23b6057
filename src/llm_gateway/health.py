"""The gateway's health report: circuit state and observed errors per model, provider status.

No paid endpoint is called: providers report what they know of themselves (connection pools,
recent failures), and model status comes from the circuit breakers and selection signals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llm_gateway.model_selector import SelectionContext
from llm_gateway.redaction import redact
from llm_gateway.resilience.circuit import CircuitState

if TYPE_CHECKING:
    from llm_gateway.gateway import LLMGateway


async def build_health_report(gateway: LLMGateway) -> dict[str, Any]:
    """``overall_status``: unhealthy when some node has no available model (or no model is
    available at all) or a provider's key is missing, degraded when any circuit is not closed or
    a provider reports trouble, healthy otherwise. ``mode`` is ``simulated`` (with a warning)
    when the built-in simulated provider answers instead of real models."""
    catalog = gateway.registry.catalog
    circuits = gateway.circuits.snapshot()
    snapshot = gateway.signals.snapshot()
    stats = snapshot.stats
    alerts = getattr(gateway, "alerts", None)
    auto_disabled = alerts.auto_disabled() if alerts is not None else {}
    models: dict[str, Any] = {}
    for lid, policy in catalog.policies.items():
        circuit = circuits.get(lid)
        observed = stats.get(lid)
        models[lid] = {
            "provider": policy.provider,
            "circuit": circuit.state.value if circuit else CircuitState.CLOSED.value,
            "consecutive_failures": circuit.consecutive_failures if circuit else 0,
            "last_error": redact(circuit.last_error) if circuit and circuit.last_error else None,
            "recent_error_rate": round(observed.error_rate, 4) if observed else None,
            "latency_ms": round(observed.latency_ms, 1) if observed else None,
            "enabled": policy.enabled,
            "disabled_by_admin": lid in snapshot.disabled,
            "auto_disabled_by_alert": auto_disabled.get(lid),
        }
    providers = await _provider_health(gateway)
    simulated = bool(gateway.settings.use_simulator)
    unservable = _unservable_nodes(gateway)
    not_closed = [m for m, v in models.items() if v["circuit"] != CircuitState.CLOSED.value]
    troubled = [n for n, v in providers.items() if v["status"] in {"down", "degraded"}]
    missing_keys = gateway.missing_provider_keys()
    shared = _shared_state(gateway)
    if unservable or missing_keys or len(not_closed) == len(models):
        overall = "unhealthy"
    elif not_closed or troubled or shared["problems"]:
        overall = "degraded"
    else:
        overall = "healthy"
    return {
        "overall_status": overall,
        "config_version": gateway.registry.version,
        "simulated": simulated,
        "mode": "simulated" if simulated else "live",
        "warnings": _warnings(simulated, missing_keys) + shared["problems"],
        "state": shared["state"],
        "missing_provider_keys": missing_keys,
        "providers": providers,
        "models": models,
        "open_circuits": not_closed,
        "unservable_nodes": unservable,
        "disabled_models": sorted(snapshot.disabled),
        "alerts": _alerts(alerts),
    }


def _alerts(service: Any) -> dict[str, Any] | None:
    """What this replica knows of the alerts without asking a store."""
    if service is None:
        return None
    return {
        "rules": len(service.rules.rules),
        "firing": sorted({incident.rule for incident in service.open}),
        "this_replica_evaluates": service.evaluating,
        "error": service.error,
    }


def _shared_state(gateway: LLMGateway) -> dict[str, Any]:
    """The state store and the record store, as this replica sees them now."""
    problems: list[str] = []
    state: dict[str, Any] = {}
    control = getattr(gateway, "control", None)
    if control is not None:
        reason = control.degraded_reason
        state["state_store"] = {
            "backend": control.store.backend,
            "status": "unavailable" if reason else "ok",
            "replica": control.replica_id,
            "control_version": control.applied_version,
        }
        if reason:
            problems.append(f"state store unavailable: {reason}; serving from the last known state")
    budgets = getattr(gateway, "budgets", None)
    if budgets is not None and budgets.budgets:
        state["budgets"] = {
            "status": "unavailable" if budgets.unavailable else "ok",
            "fail_mode": budgets.fail_mode,
        }
        if budgets.unavailable:
            problems.append(
                "budget counters unavailable: "
                + (
                    "budgeted requests are refused (GATEWAY_BUDGET_FAIL_MODE=closed)"
                    if budgets.fail_mode == "closed"
                    else "each replica enforces its share (GATEWAY_BUDGET_FAIL_MODE=local)"
                )
            )
    limits = getattr(gateway, "limits", None)
    if limits is not None:
        state["rate_limits"] = limits.health()
        if limits.rates.unavailable:
            problems.append(
                f"rate limits enforced per replica ({limits.rates.unavailable}): each replica "
                "its share of every limit until the state store answers"
            )
    records = getattr(gateway, "records", None)
    if records is not None:
        writer = records.writer
        state["record_store"] = {
            "status": "unavailable" if writer.in_outage else "ok",
            "ledger_queue": writer.queue_depth,
            "spooled_batches": writer.spool_files,
        }
        if writer.in_outage:
            problems.append(
                f"record store unavailable ({writer.stats.last_error}): ledger rows are spooled "
                "locally and written when it answers"
            )
    return {"state": state, "problems": problems}


async def _provider_health(gateway: LLMGateway) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, provider in gateway.providers.instantiated().items():
        health = await provider.health()
        out[name] = {"status": health.status, "detail": health.detail}
    return out


def _warnings(simulated: bool, missing_keys: list[str]) -> list[str]:
    warnings = [f"{problem}: requests to it fail" for problem in missing_keys]
    if simulated:
        warnings.append(
            "SIMULATED: every answer comes from the built-in simulated provider "
            "(GATEWAY_SIMULATE=true); no real model is called and nothing is billed"
        )
    return warnings


def _unservable_nodes(gateway: LLMGateway) -> list[str]:
    from llm_gateway.errors import NoEligibleModel

    unservable = []
    for node in gateway.registry.get_all_nodes():
        if any(ch in node for ch in "*?["):
            continue
        try:
            gateway.selector.select(SelectionContext(node_name=node))
        except NoEligibleModel:
            unservable.append(node)
    return unservable
