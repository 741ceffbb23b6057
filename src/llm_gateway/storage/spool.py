"""The ledger's local spool: every batch is on disk, fsynced, before the database sees it.

A batch is written to ``<dir>/<name>.tmp``, fsynced and renamed to ``<name>.jsonl`` (so a reader
never sees half a file); once the database has committed it, the file is removed. What is left
— after a crash, or while the database is down — is replayed oldest first, at start-up and as
soon as the database answers again; inserts are idempotent on the row id, so a batch replayed
after a commit whose acknowledgement was lost is not counted twice. Several processes may share
one folder: names carry the process id, and replaying another process's file is harmless.
Rows the database refuses as such (or that cannot be read back) are kept in ``rejected/``, out
of the way of the others, never replayed nor deleted by the gateway.

Blocking file I/O: call these from a worker thread.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from llm_gateway.storage.records import LedgerRow

logger = logging.getLogger("llm_gateway.storage")

REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class SpoolFile:
    path: Path
    size: int


class Spool:
    """Append-only batch files in one folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._seq = itertools.count()
        self._pid = os.getpid()

    def write(self, rows: list[dict[str, Any]]) -> SpoolFile:
        """Write one batch durably; return its file."""
        return self._write(self.directory, [orjson.dumps(row) + b"\n" for row in rows])

    def write_rows(self, rows: list[LedgerRow]) -> SpoolFile:
        """:meth:`write` for ledger rows (serialized here, in the caller's worker thread)."""
        return self._write(self.directory, [row.to_json_bytes() for row in rows])

    def read_rows(self, spooled: SpoolFile) -> tuple[list[LedgerRow], list[dict[str, Any]]]:
        """The ledger rows of a batch file, and the entries that are not one (set aside by the
        caller, so that they never hold back the others)."""
        rows: list[LedgerRow] = []
        unreadable: list[dict[str, Any]] = []
        for item in self.read(spooled):
            try:
                rows.append(LedgerRow.from_json(item))
            except (KeyError, TypeError, ValueError, ArithmeticError):
                unreadable.append(item)
        return rows, unreadable

    def reject(self, rows: list[dict[str, Any]]) -> Path:
        """Keep rows the database refused (never replayed, never deleted) in ``rejected/``:
        once the cause is fixed, moving the file back into the spool folder replays it."""
        folder = self.directory / REJECTED
        folder.mkdir(exist_ok=True)
        return self._write(folder, [orjson.dumps(row) + b"\n" for row in rows]).path

    def _write(self, folder: Path, lines: list[bytes]) -> SpoolFile:
        """Write JSON lines (each ending in a newline) durably, renamed into place."""
        name = f"{time.time_ns():020d}-{self._pid}-{next(self._seq):08d}"
        tmp = folder / f"{name}.tmp"
        final = folder / f"{name}.jsonl"
        payload = b"".join(lines)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb", closefd=False) as out:  # writes it all, however short
                out.write(payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, final)
        _sync_directory(folder)
        return SpoolFile(final, len(payload))

    def pending(self) -> list[SpoolFile]:
        """Committed-to-disk batches not yet acknowledged by the database, oldest first."""
        out = []
        for path in sorted(self.directory.glob("*.jsonl")):
            try:
                out.append(SpoolFile(path, path.stat().st_size))
            except FileNotFoundError:
                continue  # another process replayed it meanwhile
        return out

    def read(self, spooled: SpoolFile) -> list[dict[str, Any]]:
        """The rows of a batch file; a torn last line (a crash mid-write of an old format) is
        skipped with a warning, never the rest."""
        try:
            data = spooled.path.read_bytes()
        except FileNotFoundError:
            return []
        rows = []
        for number, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                logger.warning("spool %s line %d is not a row: skipped", spooled.path, number)
        return rows

    def remove(self, spooled: SpoolFile) -> None:
        with contextlib.suppress(FileNotFoundError):
            spooled.path.unlink()

    def remove_all(self, files: list[SpoolFile]) -> None:
        for spooled in files:
            self.remove(spooled)

    def size(self) -> tuple[int, int]:
        """``(files, bytes)`` waiting."""
        files = self.pending()
        return len(files), sum(f.size for f in files)

    def remove_stale_temporaries(self, older_than_s: float = 60.0) -> None:
        """Half-written ``.tmp`` files of crashed processes (never acknowledged to anyone)."""
        horizon = time.time() - older_than_s
        for path in self.directory.glob("*.tmp"):
            try:
                if path.stat().st_mtime < horizon:
                    path.unlink()
            except FileNotFoundError:
                continue


def _sync_directory(folder: Path) -> None:
    """Make the rename durable (a crash right after must not bring the old name back)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
