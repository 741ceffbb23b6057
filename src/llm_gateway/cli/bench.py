"""``llm-gateway bench``: the side-by-side benchmark against LiteLLM, and the soak mode."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from llm_gateway.bench.errors import BenchError
from llm_gateway.bench.features import DEFAULT, parse_features
from llm_gateway.bench.harness import SweepSettings
from llm_gateway.bench.results import TARGETS
from llm_gateway.cli.app import app


def _targets(only: str | None) -> tuple[str, ...]:
    if only is None:
        return TARGETS
    chosen = {name.strip() for name in only.split(",") if name.strip()}
    unknown = chosen - set(TARGETS)
    if unknown:
        raise typer.BadParameter(f"unknown target(s) {sorted(unknown)}; choose from {TARGETS}")
    # The direct run is the baseline every added figure is computed against: always run it.
    return tuple(name for name in TARGETS if name in chosen or name == "direct")


def _concurrencies(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError as exc:
        raise typer.BadParameter("concurrency must be comma-separated integers") from exc
    if not values or min(values) < 1:
        raise typer.BadParameter("concurrency levels must be >= 1")
    return values


@app.command()
def bench(
    quick: Annotated[bool, typer.Option(help="A few seconds per cell, for iterating.")] = False,
    soak: Annotated[bool, typer.Option(help="A long bounded run sampling memory.")] = False,
    requests: Annotated[
        int | None, typer.Option(help="Requests per cell (soak: in total).", min=1)
    ] = None,
    seconds: Annotated[
        float | None, typer.Option(help="Seconds per cell (soak: in total).", min=0.1)
    ] = None,
    only: Annotated[
        str | None, typer.Option(help="gateway, litellm or direct (comma-separated).")
    ] = None,
    features: Annotated[
        list[str] | None,
        typer.Option(help="Gateway env under test: presets (off, all) or KEY=VALUE."),
    ] = None,
    variants: Annotated[
        str | None,
        typer.Option(
            help="Compare gateway variants in one run (the first is the reference), e.g. "
            "off,ledger-sqlite,ledger-postgres; an item is a preset or name:PRESET+KEY=VALUE."
        ),
    ] = None,
    concurrency: Annotated[str, typer.Option(help="Closed-loop caller counts.")] = "1,10,50,200",
    rounds: Annotated[
        int,
        typer.Option(
            help="--variants: rounds of interleaved cells; each keeps its best round.", min=1
        ),
    ] = 3,
    mock_command: Annotated[
        str | None,
        typer.Option(
            help="Mock upstream command template with {port} {headers_delay_ms} "
            "{chunk_delay_ms} {chunks}; default: the built-in mock."
        ),
    ] = None,
    chunk_delay_ms: Annotated[float, typer.Option(help="Mock delay between SSE chunks.")] = 0.0,
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="Also record the run in docs/performance.md (a tracked doc: only when asked). "
            "Results always go to bench/results/.",
        ),
    ] = False,
) -> None:
    """Benchmark the gateway against the direct upstream and LiteLLM's proxy, side by side."""
    # Piped output (CI logs, `| tee`) gets wide tables instead of Rich's 80-column default.
    console = Console() if sys.stdout.isatty() else Console(width=180)
    try:
        env = parse_features(features or list(DEFAULT))
    except BenchError as exc:
        raise typer.BadParameter(exc.message) from exc
    workdir = Path(tempfile.mkdtemp(prefix="llm-gateway-bench-"))
    if variants is not None:
        _run_variants(variants, concurrency, rounds, quick, requests, seconds, workdir, console)
        return
    if soak:
        _run_soak(requests, seconds, env, mock_command, workdir, console, record)
        return
    settings = SweepSettings(
        concurrencies=_concurrencies(concurrency),
        targets=_targets(only),
        features=env,
        mock_command=mock_command,
        chunk_delay_ms=chunk_delay_ms,
    )
    settings = _bounded(settings, quick, requests, seconds)
    _run_sweep(settings, workdir, console, record)


def _bounded(
    settings: SweepSettings, quick: bool, requests: int | None, seconds: float | None
) -> SweepSettings:
    """The cell bounds asked for: --quick, then --requests and --seconds."""
    if quick:
        settings = replace(settings, max_seconds=2.0, max_requests=5_000, warmup_seconds=0.5)
    if requests:
        settings = replace(settings, max_requests=requests)
    if seconds:
        settings = replace(settings, max_seconds=seconds)
    return settings


def _run_variants(
    text: str,
    concurrency: str,
    rounds: int,
    quick: bool,
    requests: int | None,
    seconds: float | None,
    workdir: Path,
    console: Console,
) -> None:
    """Each variant's cost against the first, in one run (JSON and streams, no delay)."""
    from llm_gateway.bench.progress import RichSweepProgress
    from llm_gateway.bench.report import print_tables
    from llm_gateway.bench.sweep import repo_root
    from llm_gateway.bench.variants import parse_variants, run, variants_markdown, variants_table

    try:
        chosen = parse_variants(text)
    except BenchError as exc:
        raise typer.BadParameter(exc.message) from exc
    settings = SweepSettings(
        concurrencies=_concurrencies(concurrency), delays_ms=(0.0,), rounds=rounds
    )
    settings = _bounded(settings, quick, requests, seconds)
    runs = len(settings.cells()) * (len(chosen) + 1) * rounds
    console.print(f"[bold]llm-gateway bench --variants[/bold]: {runs} runs, logs in {workdir}")
    with RichSweepProgress(console, runs) as progress:
        try:
            result = run(settings, chosen, workdir, progress)
        except BenchError as exc:
            console.print(f"[red]bench failed:[/red] {exc.message}")
            raise typer.Exit(1) from exc
    table = variants_table(result)
    print_tables(console, [table])
    out = repo_root() / "bench" / "results" / "variants-latest.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(variants_markdown(result, table))
    console.print(f"Results: {out}")


def _run_sweep(settings: SweepSettings, workdir: Path, console: Console, record: bool) -> None:
    """Run the sweep with live progress, print and write the results, optionally record them."""
    import uvloop

    from llm_gateway.bench.history import record_sweep
    from llm_gateway.bench.progress import RichSweepProgress
    from llm_gateway.bench.report import print_tables, sweep_tables, write_results
    from llm_gateway.bench.sweep import repo_root, run_sweep

    cells = len(settings.cells()) * len(settings.targets)
    console.print(f"[bold]llm-gateway bench[/bold]: {cells} runs, logs in {workdir}")
    with RichSweepProgress(console, cells) as progress:
        try:
            result = uvloop.run(run_sweep(settings, workdir, progress))
        except BenchError as exc:
            console.print(f"[red]bench failed:[/red] {exc.message}")
            raise typer.Exit(1) from exc
    print_tables(console, sweep_tables(result))
    json_path, md_path = write_results(result, repo_root() / "bench" / "results")
    console.print(f"Results: {json_path} and {md_path}")
    if record:
        doc = record_sweep(result, repo_root())
        console.print(f"Recorded in {doc}")


def _run_soak(
    requests: int | None,
    seconds: float | None,
    env: dict[str, str],
    mock_command: str | None,
    workdir: Path,
    console: Console,
    record: bool,
) -> None:
    """Run the soak with a progress bar, print its growth table, write and record it."""
    import uvloop
    from rich.progress import BarColumn, Progress, TextColumn

    from llm_gateway.bench.report import print_tables
    from llm_gateway.bench.soak import SoakSample, SoakSettings, run_soak
    from llm_gateway.bench.soak_report import soak_tables, write_soak
    from llm_gateway.bench.sweep import repo_root

    settings = SoakSettings(features=env, mock_command=mock_command)
    if requests:
        settings = replace(settings, max_requests=requests)
    if seconds:
        settings = replace(settings, max_seconds=seconds)
    console.print(
        f"[bold]llm-gateway bench --soak[/bold]: up to {settings.max_requests:,} requests or "
        f"{settings.max_seconds:g} s, logs in {workdir}"
    )
    columns = (TextColumn("soak"), BarColumn(), TextColumn("{task.fields[status]}"))
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("soak", total=1.0, status="starting")
        printed: list[float] = []

        def on_sample(sample: SoakSample) -> None:
            done = max(
                sample.requests / settings.max_requests, sample.elapsed_s / settings.max_seconds
            )
            status = (
                f"{sample.requests:,} req {sample.rps:,.0f}/s RSS {sample.rss_mb:.1f} MB "
                f"fds {sample.open_fds} tasks {sample.asyncio_tasks} errors {sample.errors}"
            )
            bar.update(task, completed=min(done, 1.0), status=status)
            if not console.is_terminal and len(printed) % 6 == 0:
                console.print(f"{sample.elapsed_s:7.0f} s  {status}")  # a log line each 30 s
            printed.append(sample.elapsed_s)

        try:
            result = uvloop.run(run_soak(settings, workdir, on_sample))
        except BenchError as exc:
            console.print(f"[red]soak failed:[/red] {exc.message}")
            raise typer.Exit(1) from exc
    print_tables(console, soak_tables(result, settings.warmup_mark))
    for path in write_soak(result, settings.warmup_mark, repo_root(), record):
        console.print(f"Wrote {path}")
