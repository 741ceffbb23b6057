"""Servers the benchmark starts: pinned to a core, watched through ``/proc``, stopped for sure.

A :class:`ManagedProcess` starts a command under ``taskset -c CORE`` with its output going to a
log file, waits until its port answers HTTP, and reads its CPU time, RSS and open file descriptors
from ``/proc`` — summed over the process and its descendants, since a server may fork workers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from llm_gateway.bench.errors import BenchError

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces and parentheses; fields resume after the last ')'.
    return text[text.rindex(")") + 2 :].split()


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, found by parent id in ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry))[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds of the given processes (all their threads)."""
    total = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def core_busy_seconds(core: int) -> float:
    """CPU seconds core ``core`` has spent busy (not idle or waiting) since boot, all processes."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{core} "):
            ticks = [int(x) for x in line.split()[1:]]
            idle = ticks[3] + ticks[4]  # idle + iowait
            return (sum(ticks[:8]) - idle) / CLOCK_TICKS
    raise BenchError(f"no core {core} in /proc/stat")


def rss_bytes(pids: Sequence[int]) -> int:
    """Resident set size of the given processes, summed."""
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
        except OSError:
            continue
    return total


def open_fds(pids: Sequence[int]) -> int:
    """Open file descriptors of the given processes, summed."""
    total = 0
    for pid in pids:
        try:
            total += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue
    return total


def affinity(pid: int) -> str:
    """The CPU list the kernel allows ``pid`` on, as ``taskset -cp`` prints it (e.g. ``"0"``)."""
    out = subprocess.run(
        ["taskset", "-cp", str(pid)], capture_output=True, text=True, check=False
    ).stdout
    return out.rsplit(":", 1)[-1].strip()


class ManagedProcess:
    """A server process pinned to one core. Use :meth:`start`, then :meth:`stop` in a finally."""

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.name = name
        self._argv = list(argv)
        self._env = dict(env)
        self.log = log
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise BenchError(f"{self.name} is not running")
        return self._proc.pid

    def start(self, core: int) -> None:
        """Start the command under ``taskset -c core``, output appended to the log file."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self._proc = subprocess.Popen(
                ["taskset", "-c", str(core), *self._argv],
                env=self._env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    async def wait_ready(self, port: int, path: str, timeout_s: float) -> None:
        """Wait until ``GET path`` on the port gets any HTTP answer; BenchError on timeout/exit."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise BenchError(f"{self.name} exited with {self._proc.returncode}; {self._tail()}")
            if await _answers_http(port, path):
                return
            await asyncio.sleep(0.1)
        raise BenchError(f"{self.name} not ready on port {port} after {timeout_s:.0f} s")

    def pids(self) -> list[int]:
        return descendants(self.pid)

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL after 5 s. Safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def _tail(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()[-15:]
        except OSError:
            return "no log"
        return f"last lines of {self.log}:\n" + "\n".join(lines)


async def _answers_http(port: int, path: str) -> bool:
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), timeout=1.0
        )
    except (OSError, TimeoutError):
        return False
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        line = await asyncio.wait_for(reader.readline(), timeout=2.0)
        return line.startswith(b"HTTP/1.")
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
