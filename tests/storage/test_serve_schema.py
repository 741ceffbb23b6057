"""``llm-gateway serve`` and the record store's schema, as processes: a PostgreSQL database
behind the code stops the start (naming ``llm-gateway db upgrade``) unless
``GATEWAY_DB_AUTO_MIGRATE=true``; a SQLite file is migrated; two ``db upgrade`` started at once
on a fresh database both succeed (the advisory lock)."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from asyncio.subprocess import PIPE
from pathlib import Path

import asyncpg
from tests.http.test_serve_cli import environment, free_port, read_banner, start, wait_until_serving

from llm_gateway.storage.migrate import current_revision, head_revision

CLI = [sys.executable, "-c", "from llm_gateway.cli import app; app()"]
EXIT_TIMEOUT_S = 60


def _refused(tmp_path: Path, database_url: str) -> str:
    port = free_port()
    with start(tmp_path, port, DATABASE_URL=database_url) as process:
        _, stderr = process.communicate(timeout=EXIT_TIMEOUT_S)
    assert process.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert "serving on" not in stderr  # refused before any banner
    return stderr


def _serves(tmp_path: Path, **env: str) -> str:
    port = free_port()
    with start(tmp_path, port, **env) as process:
        try:
            banner = read_banner(process)
            wait_until_serving(f"http://127.0.0.1:{port}")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=EXIT_TIMEOUT_S)
    assert process.returncode == 0, banner
    return banner


def test_an_unmigrated_postgresql_stops_serve_naming_the_command(
    tmp_path: Path, pg_url: str
) -> None:
    stderr = _refused(tmp_path, pg_url)
    problem = [line for line in stderr.splitlines() if line.startswith("  - ")]
    assert len(problem) == 1, stderr
    assert "schema revision none (empty)" in problem[0]
    assert "run `llm-gateway db upgrade`" in problem[0]
    assert current_revision(pg_url) is None  # nothing was done to it


def test_auto_migrate_lets_serve_migrate_postgresql_and_start(tmp_path: Path, pg_url: str) -> None:
    banner = _serves(tmp_path, DATABASE_URL=pg_url, GATEWAY_DB_AUTO_MIGRATE="true")
    assert "migrating the record store" in banner
    assert f"(schema {head_revision()})" in banner
    assert current_revision(pg_url) == head_revision()


def test_serve_migrates_a_new_sqlite_file_before_it_binds(tmp_path: Path) -> None:
    database = tmp_path / "fresh" / "records.sqlite3"
    banner = _serves(tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{database}")
    assert "migrating the record store" in banner
    assert current_revision(f"sqlite+aiosqlite:///{database}") == head_revision()


def test_an_unreachable_database_stops_serve_without_its_password(tmp_path: Path) -> None:
    stderr = _refused(tmp_path, "postgresql+asyncpg://gateway:s3cret-pw@127.0.0.1:1/records")
    assert "cannot reach the database postgresql+asyncpg://gateway:***@127.0.0.1:1" in stderr
    assert "s3cret-pw" not in stderr


# storage/migrations/env.py's MIGRATION_LOCK_KEY (that module runs Alembic when imported).
MIGRATION_LOCK_KEY = 0x6C6C6D67
WAITING_ON_THE_LOCK = """
    SELECT count(*) FROM pg_locks
    WHERE locktype = 'advisory' AND NOT granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


async def test_two_upgrades_started_at_once_wait_on_the_lock_and_both_succeed(
    tmp_path: Path, pg_url: str
) -> None:
    """The test holds the migration lock while both start, so both are inside their upgrade
    at once (waiting on it), however their start-up times differ; then lets them go."""
    holder = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await holder.execute(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
        env = environment(tmp_path, DATABASE_URL=pg_url)
        processes = [
            await asyncio.create_subprocess_exec(
                *CLI, "db", "upgrade", cwd=tmp_path, env=env, stdout=PIPE, stderr=PIPE
            )
            for _ in range(2)
        ]
        waiting = 0
        deadline = time.monotonic() + EXIT_TIMEOUT_S
        while waiting < 2 and time.monotonic() < deadline:
            assert all(p.returncode is None for p in processes)
            await asyncio.sleep(0.05)
            waiting = int(await holder.fetchval(WAITING_ON_THE_LOCK))
        assert waiting == 2, "the upgrades did not both wait on the migration lock"
        await holder.execute(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")
        outputs = [await asyncio.wait_for(p.communicate(), EXIT_TIMEOUT_S) for p in processes]
    finally:
        await holder.close()
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert await asyncio.to_thread(current_revision, pg_url) == head_revision()
