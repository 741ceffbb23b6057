"""Live progress on the terminal while a sweep or soak runs (Rich).

Refreshed by a ticker coroutine a few times a second rather than Rich's own thread, so drawing
never competes with the load generator for the interpreter at an unlucky moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from llm_gateway.bench.loadgen import LoadSpec, Recorder
from llm_gateway.bench.results import Cell

REFRESH_S = 0.25


def cell_fraction(spec: LoadSpec, recorder: Recorder, now: float) -> float:
    """How far a bounded run is, 0..1: the nearer of its request and time bounds."""
    if now < recorder.measure_from:
        return 0.0
    by_requests = recorder.issued / spec.max_requests
    by_time = (now - recorder.measure_from) / spec.max_seconds
    return min(max(by_requests, by_time), 1.0)


class RichSweepProgress:
    """A bar for the sweep and one for the running cell, plus a line per finished cell."""

    def __init__(self, console: Console, total_cells: int) -> None:
        self.console = console
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            console=console,
            auto_refresh=False,
            transient=True,
        )
        self._overall = self._progress.add_task("sweep", total=total_cells, status="")

    def __enter__(self) -> RichSweepProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def cell_done(self) -> None:
        self._progress.advance(self._overall)
        self._progress.refresh()

    def note(self, message: str) -> None:
        self._progress.console.print(f"[dim]{message}[/dim]")
        self._progress.refresh()

    @contextlib.asynccontextmanager
    async def cell(
        self, target: str, cell: Cell, spec: LoadSpec, recorder: Recorder
    ) -> AsyncIterator[None]:
        task = self._progress.add_task(f"{target:<8} {cell.label:<22}", total=100, status="")
        ticker = asyncio.ensure_future(self._tick(task, spec, recorder))
        try:
            yield
        finally:
            ticker.cancel()
            self._progress.remove_task(task)
            self._progress.console.print(_summary(target, cell, recorder))
            self._progress.refresh()

    async def _tick(self, task: TaskID, spec: LoadSpec, recorder: Recorder) -> None:
        while True:
            now = time.perf_counter()
            running = max(now - recorder.measure_from, 1e-9)
            status = (
                f"{recorder.completed:>7} ok {recorder.window_completions / running:>8.0f}/s "
                f"{recorder.error_count} err"
                if now >= recorder.measure_from
                else "warming up"
            )
            self._progress.update(task, completed=cell_fraction(spec, recorder, now) * 100)
            self._progress.update(task, status=status)
            self._progress.refresh()
            await asyncio.sleep(REFRESH_S)


def _summary(target: str, cell: Cell, recorder: Recorder) -> str:
    rps = recorder.rate
    ordered = sorted(recorder.latencies)
    p50 = ordered[len(ordered) // 2] * 1000 if ordered else float("nan")
    errors = f"[red]{recorder.error_count} errors {dict(recorder.errors)}[/red]"
    return (
        f"{target:<8} {cell.label:<22} {rps:>9.1f} req/s  p50 {p50:8.2f} ms  "
        f"{errors if recorder.error_count else '0 errors'}"
    )
