"""``llm-gateway bench --variants A,B,...``: what each feature costs against the bare gateway,
measured in one run.

The direct run (the mock alone) comes first, then one gateway per variant — each a feature
preset or ``KEY=VALUE`` list (``+``-joined), the first being the reference (``off``, the bare
gateway, by default) — over the same cells, on the same mocks and cores. Each variant's cells
are compared with the reference's: throughput as a share of it, and the p50 latency it adds on
top of it (one caller at a time is the cell to read for per-request cost).
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
from llm_gateway.bench.harness import MockFleet, SweepProgress, SweepSettings, pin_self, run_target
from llm_gateway.bench.procs import affinity
from llm_gateway.bench.results import CellResult, TargetInfo
from llm_gateway.bench.sweep import machine_facts
from llm_gateway.bench.tables import Table, fmt
from llm_gateway.bench.targets import direct_endpoint, gateway_command, gateway_endpoint

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
        for endpoint in endpoints:
            info, cells = await run_target(endpoint, settings, fleet, progress)
            result.targets[endpoint.name] = info
            result.cells.extend(cells)
    finally:
        fleet.stop()
    return result


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
            rows.append(
                [
                    cell.label,
                    name,
                    fmt(got.rps, 0),
                    fmt(share * 100 if share is not None else None, 1, " %"),
                    fmt(got.latency.p50 if got.latency else None, 3),
                    fmt(over_direct, 3),
                    fmt(added, 3) if name != names[0] else "—",
                    fmt(got.error_count, 0),
                ]
            )
    header = ["cell", "variant", "req/s", f"of {names[0]}", "p50 ms", "p50 over direct ms"]
    header += [f"p50 added vs {names[0]} ms", "errors"]
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
