"""``llm-gateway faults``: the fault scorecard (every upstream failure class through the real
gateway and the simulator, scored from both sides) and the hostile-input table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from llm_gateway.cli.app import app

DEFAULT_DOC = Path("docs/reliability.md")


class RichCellProgress:
    """A bar over the run's steps and the one running, plus a line per finished step."""

    def __init__(self, progress: Progress, total: int) -> None:
        self._progress = progress
        self._task = progress.add_task("starting", total=total)

    def started(self, name: str) -> None:
        self._progress.update(self._task, description=name)

    def finished(self, name: str, passed: bool, detail: str) -> None:
        verdict = "[green]PASS[/]" if passed else "[red]FAIL[/]"
        self._progress.console.print(f"{verdict} {escape(name)} [dim]{escape(detail)}[/]")
        self._progress.advance(self._task)


@app.command("faults")
def faults(
    full: Annotated[
        bool,
        typer.Option("--full", help="Realistic waits (default deadlines, a 60 s outage)."),
    ] = False,
    write: Annotated[
        bool,
        typer.Option("--write", help="Also write the scorecard to --output (a tracked doc)."),
    ] = False,
    output: Annotated[
        Path, typer.Option("--output", dir_okay=False, help="Where --write writes.")
    ] = DEFAULT_DOC,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Run only this cell key (repeatable; outage, hostile too)."),
    ] = None,
) -> None:
    """Score every upstream failure class and the hostile-input cases; exit 1 if any fails."""
    from llm_gateway.faults.cells import FULL, QUICK
    from llm_gateway.faults.report import rich_table, write_markdown
    from llm_gateway.faults.runner import run_scorecard, step_count

    pace = FULL if full else QUICK
    console = Console()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        card = run_scorecard(pace, RichCellProgress(progress, step_count(pace)), only=only or ())
    console.print(rich_table(card))
    if write:
        write_markdown(card, output)
        console.print(f"written: {output}")
    if not card.passed:
        console.print(f"[red]{len(card.failures)} failed[/]")
        raise typer.Exit(1)
