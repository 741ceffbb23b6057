"""``llm-gateway cost-report [--days 30] [--out report.html] [--json]``: the savings report of
the record store at ``DATABASE_URL`` (what ``GET /api/admin/gateway/cost-optimization``
answers), as a terminal table, JSON, or a self-contained HTML page with charts."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from llm_gateway.cli.app import app
from llm_gateway.cli.db import database_url_or_exit, fail, read_store
from llm_gateway.costs import disabled_report
from llm_gateway.costs.html import render_cost_report
from llm_gateway.costs.service import read_cost_report
from llm_gateway.errors import ConfigError


def _catalog_and_flag() -> tuple[Any, bool]:
    from llm_gateway.config.loader import load_catalog
    from llm_gateway.settings import get_settings

    try:
        settings = get_settings()
        return load_catalog(settings.config_dir), settings.ENABLE_COST_OPTIMIZATION
    except ConfigError as exc:
        fail("; ".join(str(issue) for issue in exc.issues))


def write_atomically(path: Path, text: str) -> None:
    """``text`` to ``path`` via a file beside it renamed into place (never half a report)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def print_cost_table(report: dict[str, Any], console: Console) -> None:
    if report["status"] != "ok":
        console.print(report["message"], markup=False)
        return
    totals = report["totals"]
    table = Table(title=f"Cost savings · last {report['window']['days']:g} days (ledger)")
    for column in ("node", "requests", "now", "actual $", "best candidate", "saving $",
                   "monthly $", "v1 model", "vs v1 $", "vs v1 %"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("node", "now") else "right")
    for n in report["nodes"]:
        realised = n["realised_vs_v1"]
        table.add_row(
            n["node"],
            str(n["requests"]),
            str(n.get("current_model") or "-"),
            n["actual_cost_usd"],
            str(n.get("best_candidate") or "-"),
            str(n.get("potential_savings_usd", "0")),
            str(n.get("projected_monthly_savings_usd", "0")),
            str(realised.get("baseline_model") or "-"),
            str(realised.get("savings_usd", "-")),
            str(realised.get("savings_pct", "-")),
        )
    console.print(table)
    realised = totals["realised_vs_v1"]
    console.print(
        f"total {totals['requests']} requests, ${totals['actual_cost_usd']}; potential "
        f"${totals['potential_savings_usd']} ({totals['potential_savings_pct']}%), projected "
        f"${totals['projected_monthly_savings_usd']}/month; realised vs v1 "
        f"${realised['savings_usd']} ({realised['savings_pct']}%, guide target "
        f"{realised['target_pct'][0]}-{realised['target_pct'][1]}%)",
        markup=False,
    )
    if "warning" in report:
        console.print(f"note: {report['warning']}", markup=False)


def _fill_current_models(report: dict[str, Any], catalog: Any) -> None:
    """What the config files select for each node now (a served gateway's live overrides are
    not seen from here: the endpoint reports those)."""
    from llm_gateway.errors import GatewayError
    from llm_gateway.model_selector import SelectionContext
    from llm_gateway.selection.choose import select
    from llm_gateway.selection.signals import InMemorySignals

    signals = InMemorySignals().snapshot()
    for entry in report.get("nodes", []):
        try:
            chosen = select(catalog, signals, SelectionContext(node_name=entry["node"]))
            entry["current_model"] = chosen.selected_model.logical_id
        except GatewayError:
            entry["current_model"] = None


@app.command("cost-report")
def cost_report(
    days: Annotated[float, typer.Option("--days", min=0.001, help="Window in days.")] = 30.0,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the report as HTML to this file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """What each node's traffic would have cost on each eligible cheaper model, projected
    monthly savings and the savings realised against the v1 baseline, from the ledger."""
    catalog, enabled = _catalog_and_flag()
    if not enabled:
        report = disabled_report()
    else:
        url = database_url_or_exit()
        report = read_store(url, lambda store: read_cost_report(store, catalog, days=days))
        _fill_current_models(report, catalog)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        print_cost_table(report, Console(highlight=False))
    if out is not None:
        write_atomically(out, render_cost_report(report))
        typer.echo(f"HTML report: {out}", err=as_json)
