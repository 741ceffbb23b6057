"""``llm-gateway compare --node writer --old-model gemini-2.5-pro --prompts prompts.jsonl
[--out report.html] [--json-out report.json] [--json] [--gateway-url URL]``.

Each prompt goes to v1 (the old model, direct to its provider) and to v2 (the gateway for the
node: this process's, or a served one with ``--gateway-url``), with a progress bar; then the
per-prompt and total table (or JSON with ``--json``) and, with ``--out``, an HTML report with
charts. Without a provider key (no ``OPENROUTER_API_KEY``) both arms run on the built-in
simulated provider, as ``make run`` does, and the command says so. The v1 arm is always in this
process: it is the code path that did not go through a gateway.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from llm_gateway.cli.app import app
from llm_gateway.cli.cost_report import write_atomically
from llm_gateway.cli.db import fail
from llm_gateway.compare.prompts import PromptsError, load_prompts, sample_prompts_path
from llm_gateway.compare.report import comparison_json, print_comparison, render_html
from llm_gateway.compare.runner import run_comparison
from llm_gateway.errors import ConfigError


def _gateway(simulate: bool | None) -> tuple[Any, bool]:
    from llm_gateway.gateway import build_gateway
    from llm_gateway.settings import Settings

    try:
        settings = Settings()
        if simulate is None:
            simulate = settings.GATEWAY_SIMULATE or settings.OPENROUTER_API_KEY is None
        # No record store: comparison traffic is not the platform's spend.
        settings = Settings(GATEWAY_SIMULATE=simulate, DATABASE_URL=SecretStr(""))
        return build_gateway(settings), simulate
    except ConfigError as exc:
        fail("; ".join(str(issue) for issue in exc.issues))


async def _run(
    prompts: list[Any],
    node: str,
    old_model: str,
    gateway: Any,
    remote: tuple[str | None, str | None],
    console: Console,
) -> list[Any]:
    from llm_gateway.node_integration.backends import InProcessBackend, RemoteBackend
    from llm_gateway.node_integration.direct_backend import DirectProviderBackend

    url, key = remote
    v1 = DirectProviderBackend(old_model, gateway)
    v2 = RemoteBackend(url, api_key=key) if url else InProcessBackend(gateway)
    columns = (TextColumn("comparing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("prompts", total=len(prompts))
            return await run_comparison(
                prompts,
                node=node,
                old_model=old_model,
                v1=v1,
                v2=v2,
                on_done=lambda _: progress.advance(task),
            )
    finally:
        await v2.aclose()
        await gateway.aclose()


@app.command("compare")
def compare(
    old_model: Annotated[
        str, typer.Option("--old-model", help="The model the node called before (v1).")
    ],
    node: Annotated[str, typer.Option("--node", help="The node v2 serves.")] = "writer",
    prompts_file: Annotated[
        Path | None,
        typer.Option("--prompts", help="JSON lines of prompts (default: the shipped sample)."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write an HTML report here.")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json-out", help="Write the JSON report here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, not a table.")] = False,
    gateway_url: Annotated[
        str | None, typer.Option("--gateway-url", help="v2: a served gateway, not in-process.")
    ] = None,
    gateway_key: Annotated[
        str | None,
        typer.Option(
            "--gateway-key", envvar="LLM_GATEWAY_API_KEY", help="API key for --gateway-url."
        ),
    ] = None,
    new_gateway: Annotated[
        bool, typer.Option("--new-gateway/--no-new-gateway", help="v2 is the gateway (always).")
    ] = True,
    simulate: Annotated[
        bool | None,
        typer.Option(
            "--simulate/--no-simulate",
            help="Use the built-in simulated provider (default: when no provider key is set).",
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N.")] = None,
) -> None:
    """Run each prompt through v1 (the old model, direct) and v2 (the gateway for the node)
    and report latency, cost, output length, similarity, failures and v2's model."""
    if not new_gateway:
        fail("--no-new-gateway: v2 is the gateway; there is nothing else to compare with")
    path = prompts_file or sample_prompts_path()
    try:
        prompts = load_prompts(path)[:limit]
    except PromptsError as exc:
        fail(str(exc))
    console = Console(stderr=as_json, highlight=False)
    gateway, simulated = _gateway(simulate)
    if gateway.registry.find_policy(old_model) is None and (
        gateway.registry.find_by_provider_model_id(old_model) is None
    ):
        fail(f"--old-model: '{old_model}' is not a model of model_policies.yaml")
    if simulated:
        console.print(
            "[bold yellow]SIMULATED provider[/]: no provider key is set (or --simulate); both "
            "arms answer from the built-in simulator, nothing is billed"
        )
    remote = (gateway_url, gateway_key)
    results = asyncio.run(_run(prompts, node, old_model, gateway, remote, console))
    target = f"the gateway at {gateway_url}" if gateway_url else "the in-process gateway"
    report = comparison_json(results, node=node, old_model=old_model, v2_target=target)
    report["simulated"] = simulated
    report["prompts_file"] = str(path)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        print_comparison(report, console)
    if json_out is not None:
        write_atomically(json_out, json.dumps(report, indent=2))
        console.print(f"JSON report: {json_out}", markup=False)
    if out is not None:
        write_atomically(out, render_html(report))
        console.print(f"HTML report: {out}", markup=False)
