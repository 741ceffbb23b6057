"""``llm-gateway ledger export``: the spend ledger of a time window, as CSV or JSON lines.

Read directly from the record store at ``DATABASE_URL``, page by page (keyset pagination, so a
month of rows streams in constant memory), to a file or stdout; a progress bar on stderr when it
is a terminal. Costs are the exact decimals the callers were told, written as strings (never
floats); times are ISO 8601 in UTC. A file is written beside its target and renamed into place
when complete, so an interrupted export never leaves a partial file that looks whole.
"""

from __future__ import annotations

import contextlib
import csv
import enum
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from llm_gateway.cli.app import app
from llm_gateway.cli.db import database_url_or_exit, fail, read_store, shown
from llm_gateway.storage import queries
from llm_gateway.storage.store import RecordStore

ledger_app = typer.Typer(
    help="The spend ledger (one row per request) of the record store at DATABASE_URL.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(ledger_app, name="ledger")


class ExportFailed(Exception):
    """The export's output could not be written (kept apart from the store's OSErrors)."""


class ExportFormat(enum.StrEnum):
    csv = "csv"
    jsonl = "jsonl"


def parse_time(value: str, option: str) -> datetime:
    """An ISO 8601 date or time; without a zone it is UTC. Exit 1 naming ``option`` if not."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option}: {value!r} is not an ISO 8601 date or time (e.g. 2026-11-01T00:00Z)")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@ledger_app.command("export")
def export(
    start: Annotated[
        str, typer.Option("--from", help="Window start, included (ISO 8601; UTC if no zone).")
    ],
    end: Annotated[
        str | None, typer.Option("--to", help="Window end, excluded (default: now).")
    ] = None,
    node: Annotated[str | None, typer.Option("--node", help="Only this node.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Only this answering model.")] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or jsonl.")] = (
        ExportFormat.csv
    ),
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="Write here (default: stdout)."),
    ] = None,
    page: Annotated[
        int, typer.Option("--page-size", min=100, max=100_000, help="Rows per read.")
    ] = 5000,
) -> None:
    """Every ledger row of [--from, --to), oldest first, as CSV (with a header) or JSON lines."""
    url = database_url_or_exit()
    since = parse_time(start, "--from")
    until = parse_time(end, "--to") if end is not None else datetime.now(UTC)
    if until <= since:
        fail("--to must be later than --from")
    status = Console(stderr=True, highlight=False)
    to_stdout = output is None or str(output) == "-"

    async def run(store: RecordStore) -> tuple[int, Decimal]:
        total = await queries.ledger_count(store, start=since, end=until, node=node, model=model)
        with _destination(None if to_stdout else output) as stream:
            writer = _RowWriter(stream, fmt)
            progress = Progress(
                TextColumn("ledger export"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=status,
                disable=not status.is_terminal,
            )
            with progress:
                task = progress.add_task("export", total=total)
                async for rows in queries.iter_ledger(
                    store, start=since, end=until, node=node, model=model, page=page
                ):
                    writer.write(rows)
                    progress.advance(task, len(rows))
        return writer.count, writer.cost

    try:
        count, cost = read_store(url, run)
    except ExportFailed as exc:
        fail(f"cannot write {'stdout' if to_stdout else output}: {exc}")
    where = "stdout" if to_stdout else str(output)
    status.print(
        f"exported {count:,} ledger row(s) from {shown(url)} "
        f"[{since.isoformat()}, {until.isoformat()}) to {where}; total cost ${format(cost, 'f')}",
        markup=False,
        soft_wrap=True,
    )


class _RowWriter:
    """Ledger rows (as :func:`queries.ledger_page` returns them) to CSV or JSON lines; counts
    them and sums their cost exactly."""

    def __init__(self, stream: IO[str], fmt: ExportFormat) -> None:
        self.stream = stream
        self.fmt = fmt
        self.count = 0
        self.cost = Decimal(0)
        self._csv: Any = None
        if fmt is ExportFormat.csv:
            self._csv = csv.writer(stream, lineterminator="\n")
            try:
                self._csv.writerow(queries.LEDGER_COLUMNS)
            except OSError as exc:
                raise ExportFailed(exc.strerror or str(exc)) from None

    def write(self, rows: list[dict[str, Any]]) -> None:
        try:
            self._write(rows)
        except OSError as exc:
            raise ExportFailed(exc.strerror or str(exc)) from None

    def _write(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.cost += Decimal(row["cost_usd"])
            if self._csv is not None:
                self._csv.writerow([_csv_value(row[name]) for name in queries.LEDGER_COLUMNS])
            else:
                self.stream.write(json.dumps(row, separators=(",", ":")) + "\n")
        self.count += len(rows)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@contextlib.contextmanager
def _destination(path: Path | None) -> Iterator[IO[str]]:
    """stdout, or a file written beside ``path`` and renamed onto it once complete."""
    if path is None:
        yield sys.stdout
        try:
            sys.stdout.flush()
        except OSError as exc:
            raise ExportFailed(exc.strerror or str(exc)) from None
        return
    target = path.expanduser()
    try:
        descriptor, partial = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".partial", dir=target.parent
        )
    except OSError as exc:
        raise ExportFailed(exc.strerror or str(exc)) from None
    stream = os.fdopen(descriptor, "w", encoding="utf-8", newline="")
    exported = False
    try:
        yield stream  # what the export raises (the store's errors included) passes through
        exported = True
        stream.close()
        os.replace(partial, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            stream.close()
        with contextlib.suppress(OSError):
            os.unlink(partial)
        if exported and isinstance(exc, OSError):  # closing or renaming the file failed
            raise ExportFailed(exc.strerror or str(exc)) from None
        raise
