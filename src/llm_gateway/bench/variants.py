"""``llm-gateway bench --variants A,B,...``: what each feature costs against the bare gateway,
measured in one run.

The direct run (the mock alone) and one gateway per variant — each a feature preset or
``KEY=VALUE`` list (``+``-joined), the first being the reference (``off``, the bare gateway, by
default) — run over the same cells, on the same mocks and cores. All are started up front and
the cells are interleaved (for each round, for each cell, every target in turn), each
(target, cell) keeping its best round: on a shared machine, noise then hits every variant alike
instead of whichever ran while a neighbour was busy. Each variant's cells are compared with the
reference's: throughput as a share of it, the p50 latency it adds on top of it (one caller at a
time is the cell to read for per-request cost), and the server CPU it spends per request.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncpg

from llm_gateway.bench.errors import BenchError
from llm_gateway.bench.features import parse_features
from llm_gateway.bench.harness import (
    MockFleet,
    SweepProgress,
    SweepSettings,
    pin_self,
    run_cell,
    start_target,
)
from llm_gateway.bench.procs import affinity, rss_bytes
from llm_gateway.bench.results import CellResult, TargetInfo
from llm_gateway.bench.sweep import machine_facts
from llm_gateway.bench.tables import Table, fmt
from llm_gateway.bench.targets import (
    Endpoint,
    direct_endpoint,
    gateway_command,
    gateway_endpoint,
)

MB = 1024 * 1024

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(slots=True)
class VariantResult:
    started_at: str
    variants: dict[str, dict[str, str]]
    machine: dict[str, Any]
    targets: dict[str, TargetInfo] = field(default_factory=dict)
    cells: list[CellResult] = field(default_factory=list)


def parse_variants(text: str) -> dict[str, dict[str, str]]:
    """``off,ledger-sqlite,mine:ledger-sqlite+GATEWAY_TRACE_SAMPLING_RATE=0.1`` → name → env.

    Each item is a preset name, or ``name:spec`` with ``spec`` presets and ``KEY=VALUE`` pairs
    joined by ``+``. The first is the reference the others are compared with."""
    out: dict[str, dict[str, str]] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, _, spec = item.partition(":")
        out[name] = parse_features((spec or name).split("+"))
    if len(out) < 2:
        raise BenchError(
            "--variants needs at least two (the first is the reference), e.g. off,ledger-sqlite"
        )
    return out


async def _fresh_pg_database(url: str) -> None:
    """A variant on PostgreSQL gets an empty database of its own name, created for the run."""
    name = url.rsplit("/", 1)[-1].split("?", 1)[0]
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def run_variants(
    settings: SweepSettings,
    variants: dict[str, dict[str, str]],
    workdir: Path,
    progress: SweepProgress,
) -> VariantResult:
    pin_self(settings.load_core)
    result = VariantResult(
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        variants=variants,
        machine=machine_facts(),
    )
    fleet = MockFleet(settings, workdir)
    try:
        progress.note(f"starting {len(fleet.upstreams)} mock upstream(s)")
        await fleet.start()
        result.machine["mock_affinity"] = [affinity(p.pid) for p in fleet.processes]
        endpoints = [direct_endpoint(fleet.upstreams)]
        for name, env in variants.items():
            url = env.get("DATABASE_URL", "")
            if url.startswith("postgresql"):
                await _fresh_pg_database(url)
            own = workdir / f"variant-{name}"
            own.mkdir(parents=True, exist_ok=True)
            env = {"GATEWAY_LEDGER_SPOOL_DIR": str(own / "spool"), **env}
            endpoint = gateway_endpoint(fleet.upstreams, own, env, gateway_command())
            endpoints.append(replace(endpoint, name=f"gateway[{name}]"))
        started = await _start_all(endpoints, settings, result, progress)
        best = await _interleaved(started, settings, fleet, progress)
        result.cells.extend(best.values())
        for endpoint in started:
            info = result.targets[endpoint.name]
            if endpoint.process is not None:
                info.rss_at_end_mb = rss_bytes(endpoint.process.pids()) / MB
            info.requests_total = sum(
                c.completed for (target, _), c in best.items() if target == endpoint.name
            )
    finally:
        for endpoint in endpoints:
            if endpoint.process is not None:
                endpoint.process.stop()
        fleet.stop()
    return result


async def _start_all(
    endpoints: list[Endpoint],
    settings: SweepSettings,
    result: VariantResult,
    progress: SweepProgress,
) -> list[Endpoint]:
    """Start every target (all idle but the one driven); failures are recorded and skipped."""
    started = []
    for endpoint in endpoints:
        progress.note(f"starting {endpoint.name}")
        try:
            result.targets[endpoint.name] = await start_target(endpoint, settings)
        except BenchError as exc:
            if endpoint.process is not None:
                endpoint.process.stop()
            progress.note(f"{endpoint.name} failed to start: {exc}")
            result.targets[endpoint.name] = TargetInfo(name=endpoint.name, failure=str(exc))
            continue
        started.append(endpoint)
    return started


async def _interleaved(
    endpoints: list[Endpoint],
    settings: SweepSettings,
    fleet: MockFleet,
    progress: SweepProgress,
) -> dict[tuple[str, Any], CellResult]:
    """Every round runs every cell on every target in turn; each keeps its best round (the
    highest throughput: noise only ever slows a run down)."""
    best: dict[tuple[str, Any], CellResult] = {}
    for round_no in range(settings.rounds):
        progress.note(f"round {round_no + 1} of {settings.rounds}")
        for cell in settings.cells():
            for endpoint in endpoints:
                process = endpoint.process
                server_pids = process.pids if process is not None else fleet.pids
                got = await run_cell(endpoint, cell, settings, server_pids, fleet.pids, progress)
                key = (endpoint.name, cell)
                if key not in best or got.rps > best[key].rps:
                    best[key] = got
                progress.cell_done()
    return best


def variants_table(result: VariantResult) -> Table:
    names = list(result.variants)
    reference = f"gateway[{names[0]}]"
    by_key = {(c.target, c.cell): c for c in result.cells}
    cells = sorted(
        {c.cell for c in result.cells}, key=lambda c: (c.delay_ms, c.stream, c.concurrency)
    )
    rows = []
    for cell in cells:
        base = by_key.get((reference, cell))
        direct = by_key.get(("direct", cell))
        for name in names:
            got = by_key.get((f"gateway[{name}]", cell))
            if got is None:
                continue
            share = got.rps / base.rps if base and base.rps else None
            added = None
            if got.latency and base and base.latency:
                added = got.latency.p50 - base.latency.p50
            over_direct = None
            if got.latency and direct and direct.latency:
                over_direct = got.latency.p50 - direct.latency.p50
            cpu = got.server_cpu_ms_per_request
            cpu_added = None
            if cpu is not None and base and base.server_cpu_ms_per_request is not None:
                cpu_added = (cpu - base.server_cpu_ms_per_request) * 1000
            rows.append(
                [
                    cell.label,
                    name,
                    fmt(got.rps, 0),
                    fmt(share * 100 if share is not None else None, 1, " %"),
                    fmt(got.latency.p50 if got.latency else None, 3),
                    fmt(over_direct, 3),
                    fmt(added, 3) if name != names[0] else "—",
                    fmt(cpu * 1000 if cpu is not None else None, 0),
                    fmt(cpu_added, 0) if name != names[0] else "—",
                    fmt(got.error_count, 0),
                ]
            )
    header = ["cell", "variant", "req/s", f"of {names[0]}", "p50 ms", "p50 over direct ms"]
    header += [f"p50 added vs {names[0]} ms", "server CPU µs/req", "CPU added µs", "errors"]
    return Table("Feature cost, same run (closed loop)", header, rows)


def variants_markdown(result: VariantResult, table: Table) -> str:
    lines = [f"### Feature cost {result.started_at}", ""]
    for name, env in result.variants.items():
        lines.append(f"- `{name}`: {env}")
    lines += ["", "| " + " | ".join(table.header) + " |", "|" + "---|" * len(table.header)]
    lines += ["| " + " | ".join(row) + " |" for row in table.rows]
    lines.append("")
    cpu = os.cpu_count()
    lines.append(f"Machine: {cpu} cores; {result.machine.get('cpu_model', '')}".rstrip())
    return "\n".join(lines) + "\n"


def run(
    settings: SweepSettings,
    variants: dict[str, dict[str, str]],
    workdir: Path,
    progress: SweepProgress,
) -> VariantResult:
    import uvloop

    return uvloop.run(run_variants(settings, variants, workdir, progress))
