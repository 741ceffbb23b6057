"""``llm-gateway simulate``: run the OpenRouter-compatible simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from llm_gateway.cli.app import app
from llm_gateway.errors import ConfigError


@app.command("simulate")
def simulate(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port (0: any free port).")
    ] = 8090,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    scenario: Annotated[
        Path | None,
        typer.Option("--scenario", exists=True, dir_okay=False, help="Scenario (YAML or JSON)."),
    ] = None,
    zero_latency: Annotated[
        bool, typer.Option("--zero-latency", help="No time to first token, no pacing.")
    ] = False,
    catalog: Annotated[
        bool,
        typer.Option(
            "--catalog/--no-catalog",
            help="Price and size the gateway's catalogue models from model_policies.yaml.",
        ),
    ] = True,
    config_dir: Annotated[
        Path | None,
        typer.Option("--config-dir", file_okay=False, help="Gateway config directory."),
    ] = None,
) -> None:
    """Run the OpenRouter-compatible simulator (demo, tests, benchmarks) until interrupted."""
    from llm_gateway.simulator.scenario import Scenario, catalog_specs, load_scenario
    from llm_gateway.simulator.server import run

    try:
        loaded = load_scenario(scenario)
    except ConfigError as exc:
        typer.echo(f"invalid scenario: {exc}", err=True)
        raise typer.Exit(2) from exc
    if zero_latency:
        loaded = Scenario.model_validate({**loaded.model_dump(), "zero_latency": True})
    specs = {}
    if catalog:
        try:
            specs = catalog_specs(config_dir)
        except ConfigError as exc:
            typer.echo(f"catalogue not loaded (models use scenario prices): {exc}", err=True)

    def ready(bound: int) -> None:
        typer.echo(f"simulator listening on http://{host}:{bound}/api/v1")

    try:
        run(loaded, host, port, on_ready=ready, catalog=specs)
    except KeyboardInterrupt:
        typer.echo("simulator stopped")
