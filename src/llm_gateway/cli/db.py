"""``llm-gateway db upgrade | downgrade | current | history``: the record store's schema.

The database is ``DATABASE_URL`` (environment or ``.env``, as ``serve`` reads it). Every command
prints that URL without its password and the revisions involved; a problem (database down, bad
URL, unknown revision) is one line on stderr and exit status 1, never a traceback. On PostgreSQL
an upgrade holds an advisory lock, so several started at once (replicas, a deploy job) are safe:
the first migrates, the others wait and find nothing to do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from llm_gateway.cli.app import app
from llm_gateway.errors import ConfigError
from llm_gateway.storage.engine import StorageError, describe, parse_url
from llm_gateway.storage.migrate import (
    current_revision,
    downgrade,
    head_revision,
    history,
    upgrade,
)
from llm_gateway.storage.store import RecordStore, reason

T = TypeVar("T")

db_app = typer.Typer(
    help="The record store's schema (DATABASE_URL): upgrade, downgrade, current, history.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(db_app, name="db")


def fail(message: str) -> NoReturn:
    """``message`` as one line on stderr, exit status 1."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(1)


def database_url_or_exit() -> str:
    """``DATABASE_URL`` from the settings; exit 1 when the settings are invalid or it is empty."""
    from llm_gateway.settings import get_settings

    try:
        url = get_settings().database_url
    except ConfigError as exc:
        fail("; ".join(str(issue) for issue in exc.issues))
    if url is None:
        fail("DATABASE_URL is empty: no record store is configured")
    try:
        parse_url(url)
    except StorageError as exc:
        fail(str(exc))
    return url


def shown(url: str) -> str:
    return describe(parse_url(url))


def _revision(value: str | None, head: str) -> str:
    if value is None:
        return "none (empty)"
    return f"{value} (head)" if value == head else value


def _current_or_exit(url: str) -> str | None:
    try:
        return current_revision(url)
    except StorageError as exc:
        fail(str(exc))


def _missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite store whose file does not exist (None: any other store)."""
    parsed = parse_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    return None if Path(database).exists() else database


def read_store(url: str, work: Callable[[RecordStore], Awaitable[T]]) -> T:
    """``work(store)`` on the record store at ``url`` (opened, then closed); exit 1 with one
    line when the store has not the schema this gateway reads, or cannot be read."""
    missing = _missing_sqlite_file(url)
    if missing is not None:
        fail(
            f"no record store at {shown(url)}: {missing} does not exist, so nothing has been "
            "recorded there (a relative path is read from the working directory); set "
            "DATABASE_URL to the served gateway's, or run `llm-gateway db upgrade` to create "
            "an empty one"
        )
    current = _current_or_exit(url)
    head = head_revision()
    if current != head:
        fail(
            f"the record store {shown(url)} is at schema revision {_revision(current, head)}, "
            f"this gateway reads {head}: run `llm-gateway db upgrade`"
        )

    async def run() -> T:
        store = RecordStore.open(url, pool_size=1)
        try:
            return await work(store)
        finally:
            await store.aclose()

    try:
        return asyncio.run(run())
    except (SQLAlchemyError, OSError) as exc:
        fail(f"reading the record store {shown(url)} failed: {reason(exc)}")


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[
        str, typer.Option("--revision", help="Target revision (default: the newest, head).")
    ] = "head",
) -> None:
    """Migrate the record store to the newest schema (or to --revision)."""
    url = database_url_or_exit()
    head = head_revision()
    before = _current_or_exit(url)
    try:
        upgrade(url, revision)
    except StorageError as exc:
        fail(str(exc))
    after = _current_or_exit(url)
    typer.echo(f"record store: {shown(url)}")
    if before == after:
        typer.echo(f"schema: {_revision(after, head)}, nothing to do")
    else:
        typer.echo(f"schema: {_revision(before, head)} → {_revision(after, head)}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision; 'base' removes every table.")],
) -> None:
    """Migrate the record store back to REVISION ('base': drop the record store's tables)."""
    url = database_url_or_exit()
    head = head_revision()
    before = _current_or_exit(url)
    try:
        downgrade(url, revision)
    except StorageError as exc:
        fail(str(exc))
    after = _current_or_exit(url)
    typer.echo(f"record store: {shown(url)}")
    typer.echo(f"schema: {_revision(before, head)} → {_revision(after, head)}")


@db_app.command("current")
def db_current() -> None:
    """The schema revision of the record store, and whether it is the one this gateway needs."""
    url = database_url_or_exit()
    head = head_revision()
    current = _current_or_exit(url)
    typer.echo(f"record store: {shown(url)}")
    typer.echo(f"revision: {_revision(current, head)}")
    if current != head:
        typer.echo(f"this gateway needs {head}: run `llm-gateway db upgrade`")


@db_app.command("history")
def db_history() -> None:
    """The schema revisions this gateway ships, newest first; the database's is marked."""
    url = database_url_or_exit()
    current = _current_or_exit(url)
    head = head_revision()
    table = Table(title=f"Schema revisions · {shown(url)}")
    table.add_column("revision", no_wrap=True)
    table.add_column("revises")
    table.add_column("description", overflow="fold")
    table.add_column("")
    for rev, down, message in history():
        marks = [m for m, on in (("head", rev == head), ("current", rev == current)) if on]
        table.add_row(rev, down or "—", message, ", ".join(marks))
    console = Console(highlight=False, soft_wrap=False)
    console.print(table)
    console.print(f"database at: {_revision(current, head)}", markup=False)
