"""Reloading the config files into a running gateway: read and check them in a worker thread
(time-bounded), refuse what would leave no model or drop nodes unless forced, then swap.

The admin API's ``POST /policies/reload`` runs it on the replica that got the call (422 with
the reasons when refused); every other replica runs it when told, and reports its result.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from llm_gateway.config.catalog import Catalog
from llm_gateway.config.reading import ConfigReadTimeout, read_catalog, shrinking_problems
from llm_gateway.errors import ConfigError, GatewayError
from llm_gateway.routes.overrides import AdminRequestRejected

_RELOADS = asyncio.Lock()  # one reload at a time: the second sees the first's result


async def reload_files(gateway: Any, force: bool) -> list[str]:
    """Swap in the files' current content; raise AdminRequestRejected and keep the old config
    on any issue. Returns the problems forced past (empty when none)."""
    try:
        problems = await _reload(gateway.registry, force)
    except GatewayError:
        gateway.metrics.config_reloads["failed"] += 1
        raise
    gateway.metrics.config_reloads["ok"] += 1
    return problems


async def _reload(registry: Any, force: bool) -> list[str]:
    async with _RELOADS:
        catalog = await _read_for_reload(registry.reload_dir)
        problems = shrinking_problems(registry.catalog, catalog)
        if problems and not force:
            raise AdminRequestRejected(
                "configuration not reloaded: " + "; ".join(problems) + " (send force=true to "
                "apply it anyway); the previous one stays live",
                {"issues": problems},
                param="config",
                code="reload_would_remove",
            )
        registry.install(catalog)
    return problems


async def reload_alerts(gateway: Any) -> dict[str, Any] | None:
    """Re-read ``alerts.yaml`` (a bad file keeps the rules in force: ``status`` ``kept`` and
    why); None when no alert service runs."""
    service = getattr(gateway, "alerts", None)
    if service is None:
        return None
    result: dict[str, Any] = await service.reload()
    return result


async def reload_rollout(gateway: Any) -> dict[str, Any] | None:
    """Re-read ``rollout.yaml`` (a bad file keeps the guard in force: ``status`` ``kept`` and
    why); None when no rollout service runs."""
    service = getattr(gateway, "rollout", None)
    if service is None:
        return None
    result: dict[str, Any] = await service.reload()
    return result


async def reload_on_replica(gateway: Any, force: bool) -> dict[str, Any]:
    """A reload asked by another replica, as a result to report (never raises)."""
    before = gateway.registry.version
    alerts = await reload_alerts(gateway)
    await reload_rollout(gateway)
    try:
        await reload_files(gateway, force)
    except GatewayError as exc:
        return {
            "status": "kept",
            "error": exc.message,
            "details": getattr(exc, "details", None),
            "config_version": before,
            "alerts": alerts,
        }
    return {"status": "reloaded", "config_version": gateway.registry.version, "alerts": alerts}


async def _read_for_reload(config_dir: Path | None) -> Catalog:
    try:
        return await read_catalog(config_dir)
    except ConfigError as exc:
        raise AdminRequestRejected(
            f"configuration not reloaded ({len(exc.issues)} issue(s)); the previous one stays live",
            {
                "issues": [str(issue) for issue in exc.issues],
                "located": [issue.as_dict() for issue in exc.issues],
            },
            param="config",
            code="invalid_config",
        ) from None
    except ConfigReadTimeout as exc:
        raise AdminRequestRejected(
            f"configuration not reloaded: {exc}; the previous one stays live",
            {"issues": [str(exc)]},
            param="config",
            code="reload_timeout",
        ) from None
