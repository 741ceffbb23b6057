"""A PostgreSQL server of the test's own (``initdb`` + ``pg_ctl`` from the installed server), on
its own loopback port and data directory, that the test may stop and start at will: the shared
server on 5432 is never touched.

PostgreSQL refuses to run as root; under root the server runs as the ``postgres`` user, in a
directory that user owns (created next to, not inside, pytest's root-only tmp folders).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

START_TIMEOUT_S = 30


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found: install the PostgreSQL server")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnPostgres:
    """``start()``, ``stop_immediately()`` (as a crash would), ``start()`` again, ``destroy()``."""

    def __init__(self, base: Path) -> None:
        self.port = free_port()
        self._as_root = os.geteuid() == 0
        if self._as_root:
            self._user: pwd.struct_passwd | None = pwd.getpwnam("postgres")
            self.home = Path(tempfile.mkdtemp(prefix="llmg-own-pg-"))
            os.chown(self.home, self._user.pw_uid, self._user.pw_gid)
        else:
            self._user = None
            self.home = base / "own-pg"
            self.home.mkdir()
        self.data = self.home / "data"
        self.log = self.home / "server.log"
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_root else []
        return subprocess.run(
            [*prefix, *argv],
            check=check,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S + 10,
            cwd=self.home,
        )

    def init(self) -> None:
        self._run(
            _bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "--encoding=UTF8",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c fsync=off -c max_connections=50"
        )
        self._run(
            _bin("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            "start",
        )

    def stop_immediately(self) -> None:
        """Stop as a crash would: no shutdown checkpoint, every connection cut."""
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        self._run(
            _bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False
        )
        if self._as_root:
            shutil.rmtree(self.home, ignore_errors=True)


@contextlib.contextmanager
def own_postgres(base: Path) -> Iterator[OwnPostgres]:
    server = OwnPostgres(base)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()
