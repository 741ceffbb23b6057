"""``llm-gateway alerts [--history]`` and ``llm-gateway alerts check FILE``.

``alerts`` reads the incidents straight from the record store at ``DATABASE_URL`` (no server
needed), like ``traces``: the rules of the alerts file, which are firing, and with
``--history`` every incident, newest first. ``check`` validates a file: exit 0 with its rules,
or exit 1 listing every error by file, rule and token.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from llm_gateway.alerts.incidents import Incident, IncidentStore
from llm_gateway.alerts.rules import AlertRules, alerts_path, load_rules
from llm_gateway.cli.app import app
from llm_gateway.cli.db import database_url_or_exit, read_store, shown
from llm_gateway.errors import ConfigError
from llm_gateway.storage.store import RecordStore

alerts_app = typer.Typer(
    help="Alert rules and incidents (alerts.yaml).",
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode=None,
)
app.add_typer(alerts_app, name="alerts")

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


@alerts_app.callback()
def alerts(
    ctx: typer.Context,
    history: Annotated[
        bool, typer.Option("--history", help="Every incident, newest first.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """The alert rules and what is firing now (with --history: past incidents too)."""
    if ctx.invoked_subcommand is not None:
        return
    rules = _configured_rules()
    url = database_url_or_exit()

    async def read(store: RecordStore) -> tuple[list[Incident], list[Incident]]:
        incidents = IncidentStore(store)
        past = await incidents.history(limit=limit) if history else []
        return await incidents.open_incidents(), past

    firing, past = read_store(url, read)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "file": str(rules.path) if rules and rules.path else None,
                    "rules": [r.as_dict() for r in rules.rules] if rules else [],
                    "firing": [i.as_dict() for i in firing],
                    "history": [i.as_dict() for i in past],
                },
                indent=2,
                default=str,
            )
        )
        return
    console = Console(highlight=False, soft_wrap=False)
    if rules is not None:
        table = Table(title=f"Alert rules · {rules.path}")
        for column in ("rule", "condition", "actions", "scope", "state"):
            table.add_column(column, overflow="fold")
        for rule in rules.rules:
            on = [i for i in firing if i.rule == rule.name]
            state = Text(f"FIRING ({len(on)})", style="bold red") if on else Text("ok")
            table.add_row(
                rule.name, rule.condition.text, ", ".join(rule.actions), rule.scope, state
            )
        console.print(table)
    else:
        console.print("no alerts file (GATEWAY_ALERTS_FILE, or alerts.yaml in the config dir)")
    _incident_table(console, "Firing now", firing, shown(url))
    if history:
        _incident_table(console, "History (newest first)", past, shown(url))


def _configured_rules() -> AlertRules | None:
    from llm_gateway.settings import get_settings

    settings = get_settings()
    path = alerts_path(settings.GATEWAY_ALERTS_FILE, settings.config_dir)
    if path is None:
        return None
    try:
        return load_rules(path)
    except ConfigError as exc:
        _print_issues(exc)
        raise typer.Exit(1) from None


def _incident_table(console: Console, title: str, incidents: list[Incident], where: str) -> None:
    if not incidents:
        console.print(f"{title}: none ({where})", markup=False)
        return
    table = Table(title=title, caption=where)
    for column in ("started (UTC)", "rule", "scope", "summary", "notified", "resolved (UTC)"):
        table.add_column(column, overflow="fold")
    for incident in incidents:
        data = incident.as_dict()
        table.add_row(
            data["started_at"],
            Text(incident.rule),
            Text(incident.scope_key),
            Text(incident.summary),
            str(incident.notifications),
            data["resolved_at"] or "—",
        )
    console.print(table)


def _print_issues(exc: ConfigError) -> None:
    typer.echo(f"{len(exc.issues)} error(s):", err=True)
    for issue in exc.issues:
        typer.echo(f"  - {issue}", err=True)


@alerts_app.command("check")
def check(
    path: Annotated[Path, typer.Argument(help="The alerts file to validate.")],
    as_json: JsonOption = False,
) -> None:
    """Validate an alerts file: exit 0 listing its rules, or 1 with every error."""
    try:
        rules = load_rules(path)
    except ConfigError as exc:
        if as_json:
            issues = [str(issue) for issue in exc.issues]
            typer.echo(json.dumps({"valid": False, "errors": issues}, indent=2))
            raise typer.Exit(1) from None
        _print_issues(exc)
        raise typer.Exit(1) from None
    if as_json:
        payload: dict[str, Any] = {
            "valid": True,
            "file": str(path),
            "version": rules.version,
            "rules": [r.as_dict() for r in rules.rules],
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(f"{path}: {len(rules.rules)} rule(s) valid")
    for rule in rules.rules:
        typer.echo(f"  {rule.name}: {rule.condition.text} → {', '.join(rule.actions)}")
