"""``llm-gateway validate | select | models``: check the config files, try a selection, list the
catalogue. Rich tables in a terminal; ``--json`` for machines. Exit status 0 on success, 1 when
the configuration is invalid or no model can be selected.

Validation errors are printed one per line exactly as ``file: key.path: message`` (plain text,
never styled, so they can be grepped and diffed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from llm_gateway.cli.app import app
from llm_gateway.config.catalog import Catalog
from llm_gateway.config.loader import load_catalog
from llm_gateway.errors import ConfigError, ConfigIssue, GatewayError, NoEligibleModel
from llm_gateway.model_policy import ModelPolicy, ModelPolicyRegistry
from llm_gateway.model_selector import ModelSelector, SelectionContext, SelectionResult

ConfigDirOption = Annotated[
    Path | None,
    typer.Option(
        "--config-dir",
        help="Directory holding model_policies.yaml and node_requirements.yaml "
        "(default: GATEWAY_CONFIG_DIR, else ./config, else the packaged defaults).",
        file_okay=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _emit_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def _config_dir(option: Path | None) -> Path:
    if option is not None:
        return option
    from llm_gateway.settings import get_settings

    return get_settings().config_dir


def _fail_config(issues: list[ConfigIssue], as_json: bool) -> NoReturn:
    """Print every issue (``file: key.path: message``) and exit 1."""
    if as_json:
        _emit_json({"valid": False, "errors": [_issue_dict(issue) for issue in issues]})
    else:
        for issue in issues:
            typer.echo(str(issue))
        typer.echo(f"{len(issues)} configuration error(s)", err=True)
    raise typer.Exit(1)


def _issue_dict(issue: ConfigIssue) -> dict[str, str]:
    return {"file": issue.file, "path": issue.path, "message": issue.message, "text": str(issue)}


def _load(config_dir: Path | None, as_json: bool) -> Catalog:
    try:
        return load_catalog(_config_dir(config_dir))
    except ConfigError as exc:
        _fail_config(exc.issues, as_json)


@app.command()
def validate(config_dir: ConfigDirOption = None, as_json: JsonOption = False) -> None:
    """Check the config files: exit 0 with a summary, or exit 1 listing every error."""
    catalog = _load(config_dir, as_json)
    selector = ModelSelector(ModelPolicyRegistry.from_catalog(catalog))
    nodes = [_node_summary(selector, name) for name in catalog.nodes]
    if as_json:
        _emit_json(
            {
                "valid": True,
                "version": catalog.version,
                "config_dir": str(catalog.config_dir),
                "models": len(catalog.policies),
                "providers": sorted(catalog.providers),
                "nodes": nodes,
                "errors": [],
            }
        )
        return
    table = Table(title=f"Configuration valid · {catalog.config_dir} · version {catalog.version}")
    table.add_column("node", no_wrap=True)
    table.add_column("required", overflow="fold")
    table.add_column("max tier")
    table.add_column("min ctx", justify="right")
    table.add_column("fits", justify="right")
    table.add_column("pick (strategy)", overflow="fold")
    for node in nodes:
        table.add_row(
            Text(node["node"]),
            Text(", ".join(node["required_capabilities"]) or "—"),
            node["max_cost_tier"],
            f"{node['min_context_window']:,}",
            str(node["eligible"]),
            Text.assemble(node["pick"], (f"\n{node['strategy']}", "dim")),
        )
    console = _console()
    console.print(table)
    console.print(
        f"{len(catalog.policies)} models, {len(catalog.nodes)} nodes, "
        f"providers: {', '.join(sorted(catalog.providers))}",
        markup=False,
    )


def _node_summary(selector: ModelSelector, name: str) -> dict[str, Any]:
    needs = selector.registry.catalog.requirements_for(name)
    result = selector.select(SelectionContext(node_name=name))
    return {
        "node": name,
        "required_capabilities": sorted(needs.hard_capabilities),
        "max_cost_tier": needs.max_cost_tier.value,
        "min_context_window": needs.min_context_window,
        "eligible": len(result.scores),
        "pick": result.selected_model.logical_id,
        "strategy": result.strategy.value,
        "fallback_chain": list(result.fallback_chain),
    }


@app.command()
def select(
    node: Annotated[str, typer.Option("--node", "-n", help="Agent node name.")] = "default",
    capability: Annotated[
        list[str] | None,
        typer.Option("--capability", "-c", help="Required capability (repeatable)."),
    ] = None,
    prefer: Annotated[
        list[str] | None, typer.Option("--prefer", help="Preferred capability (repeatable).")
    ] = None,
    strategy: Annotated[
        str | None,
        typer.Option(help="balanced | cost_optimized | quality_optimized | latency_optimized"),
    ] = None,
    max_cost_tier: Annotated[str | None, typer.Option(help="LOW | MEDIUM | HIGH | PREMIUM")] = None,
    min_context: Annotated[int, typer.Option(min=0, help="Minimum context window.")] = 0,
    input_tokens: Annotated[int | None, typer.Option(min=0, help="Estimated input tokens.")] = None,
    output_tokens: Annotated[
        int | None, typer.Option(min=0, help="Estimated output tokens.")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Request this logical model.")
    ] = None,
    config_dir: ConfigDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show which model a node gets: the choice, the fallback chain, the reasons, and every
    rejected model with why (static: no live health data)."""
    catalog = _load(config_dir, as_json)
    selector = ModelSelector(ModelPolicyRegistry.from_catalog(catalog))
    context = SelectionContext(
        node_name=node,
        capabilities=tuple(capability or ()),
        preferred_capabilities=tuple(prefer or ()),
        strategy=strategy,
        min_context_window=min_context,
        max_cost_tier=max_cost_tier,
        estimated_input_tokens=input_tokens,
        estimated_output_tokens=output_tokens,
        requested_model=model,
    )
    try:
        result = selector.select(context)
    except GatewayError as exc:
        _fail_selection(exc, as_json)
    if as_json:
        _emit_json(result.as_dict())
    else:
        _print_selection(result, catalog)


def _fail_selection(exc: GatewayError, as_json: bool) -> NoReturn:
    if as_json:
        _emit_json(exc.to_dict())
        raise typer.Exit(1)
    console = _console()
    if isinstance(exc, NoEligibleModel) and exc.rejections:
        # the message repeats every rejection; the table shows them readably
        console.print(Text(f"✗ {exc.message.split(' (', 1)[0]}", style="bold red"))
        console.print(_rejected_table(exc.rejections))
    else:
        console.print(Text(f"✗ {exc.message}", style="bold red"))
    raise typer.Exit(1)


def _print_selection(result: SelectionResult, catalog: Catalog) -> None:
    console = _console()
    chosen = result.selected_model
    console.print(
        Text.assemble(
            ("✓ ", "bold green"),
            (chosen.logical_id, "bold"),
            f"  ({chosen.provider}: {chosen.provider_model_id})  "
            f"node {result.node_name} · strategy {result.strategy.value} · via {result.source}",
        )
    )
    chain = Table(title="Order of attempts")
    chain.add_column("#", justify="right")
    chain.add_column("model", no_wrap=True)
    chain.add_column("tier")
    chain.add_column("context", justify="right")
    chain.add_column("$/request", justify="right")
    chain.add_column("score", justify="right")
    for index, policy in enumerate(result.candidates, start=1):
        score = result.scores.get(policy.logical_id)
        chain.add_row(
            str(index),
            Text(policy.logical_id),
            policy.cost_tier.value,
            f"{policy.context_window:,}",
            f"{score.expected_cost:.6f}" if score else "—",
            f"{score.total:.3f}" if score else "—",
        )
    console.print(chain)
    console.print(Text("Reasons", style="bold"))
    for reason in result.reasons:
        console.print(Text(f"  • {reason}"))
    if result.rejected:
        console.print(_rejected_table({k: list(v) for k, v in result.rejected.items()}))


def _rejected_table(rejections: dict[str, list[str]]) -> Table:
    table = Table(title="Rejected models")
    table.add_column("model", no_wrap=True)
    table.add_column("why", overflow="fold")
    for model, why in rejections.items():
        table.add_row(Text(model), Text("; ".join(why)))
    return table


@app.command()
def models(
    capability: Annotated[
        list[str] | None,
        typer.Option("--capability", "-c", help="Only models with this capability (repeatable)."),
    ] = None,
    config_dir: ConfigDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """The model catalogue: provider model, tier, context window, prices, capabilities."""
    catalog = _load(config_dir, as_json)
    registry = ModelPolicyRegistry.from_catalog(catalog)
    try:
        chosen = registry.filter_policies(capabilities=capability or (), include_disabled=True)
    except ValueError as exc:
        typer.echo(f"unknown capability: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        _emit_json([_policy_dict(p) for p in chosen])
        return
    table = Table(title=f"{len(chosen)} models · {catalog.config_dir}")
    table.add_column("model", no_wrap=True)
    table.add_column("provider model", overflow="fold")
    table.add_column("tier")
    table.add_column("context", justify="right")
    table.add_column("in $/1k", justify="right")
    table.add_column("out $/1k", justify="right")
    table.add_column("capabilities", overflow="fold")
    table.add_column("fallbacks", overflow="fold")
    for policy in chosen:
        name = policy.logical_id + ("" if policy.enabled else " (disabled)")
        table.add_row(
            Text(name),
            Text(f"{policy.provider}:{policy.provider_model_id}"),
            policy.cost_tier.value,
            f"{policy.context_window:,}",
            str(policy.input_cost_per_1k),
            str(policy.output_cost_per_1k),
            Text(", ".join(sorted(policy.capabilities))),
            Text(", ".join(policy.fallback_models) or "—"),
        )
    _console().print(table)


def _policy_dict(policy: ModelPolicy) -> dict[str, Any]:
    data = policy.model_dump(mode="json")
    data["capabilities"] = sorted(policy.capabilities)
    data["fallback_models"] = list(policy.fallback_models)
    return data
