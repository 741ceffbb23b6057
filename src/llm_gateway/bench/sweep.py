"""One ``llm-gateway bench`` run from start to finish: pin, start mocks, measure each target,
stop everything, and return a :class:`SweepResult` (written out by :mod:`.report`)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llm_gateway.bench.harness import MockFleet, SweepProgress, SweepSettings, pin_self, run_target
from llm_gateway.bench.litellm_runner import litellm_endpoint
from llm_gateway.bench.procs import affinity
from llm_gateway.bench.results import SweepResult
from llm_gateway.bench.targets import (
    Endpoint,
    Upstream,
    direct_endpoint,
    gateway_command,
    gateway_endpoint,
)


def repo_root() -> Path:
    """The checkout this package runs from (``bench/`` and ``docs/`` live there)."""
    return Path(__file__).resolve().parents[3]


def machine_facts() -> dict[str, Any]:
    """What the numbers depend on: CPU, cores, Python, load before the run, commit."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = _git("rev-parse", "--short", "HEAD")
    if commit and _git("status", "--porcelain", "--", "src"):
        commit += "+dirty"  # the run measured uncommitted source changes too
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_before": os.getloadavg(),
        "commit": commit or None,
    }


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo_root()), *args], capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def build_endpoint(
    name: str, upstreams: list[Upstream], workdir: Path, features: Mapping[str, str]
) -> Endpoint:
    if name == "direct":
        return direct_endpoint(upstreams)
    if name == "gateway":
        return gateway_endpoint(upstreams, workdir, features, gateway_command())
    if name == "litellm":
        return litellm_endpoint(upstreams, workdir, repo_root())
    raise ValueError(f"unknown target {name!r}")


def settings_dict(settings: SweepSettings) -> dict[str, Any]:
    return {
        "concurrencies": list(settings.concurrencies),
        "delays_ms": list(settings.delays_ms),
        "streams": list(settings.streams),
        "max_requests": settings.max_requests,
        "max_seconds": settings.max_seconds,
        "warmup_seconds": settings.warmup_seconds,
        "targets": list(settings.targets),
        "features": settings.features,
        "chunks": settings.chunks,
        "chunk_delay_ms": settings.chunk_delay_ms,
        "mock_command": settings.mock_command or "builtin (llm_gateway.bench.mock_upstream)",
        "server_core": settings.server_core,
        "load_core": settings.load_core,
    }


async def run_sweep(settings: SweepSettings, workdir: Path, progress: SweepProgress) -> SweepResult:
    """Run every target over every cell. Servers are stopped before this returns or raises."""
    pin_self(settings.load_core)
    result = SweepResult(
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        settings=settings_dict(settings),
        machine=machine_facts(),
    )
    fleet = MockFleet(settings, workdir)
    try:
        count = len(fleet.upstreams)
        progress.note(f"starting {count} mock upstream(s) on core {settings.load_core}")
        await fleet.start()
        result.machine["loadgen_affinity"] = affinity(os.getpid())
        result.machine["mock_affinity"] = [affinity(p.pid) for p in fleet.processes]
        for name in settings.targets:
            endpoint = build_endpoint(name, fleet.upstreams, workdir, settings.features)
            info, cells = await run_target(endpoint, settings, fleet, progress)
            result.targets[name] = info
            result.cells.extend(cells)
    finally:
        fleet.stop()
    return result
