"""A finished sweep on the terminal, in ``bench/results/latest.json`` and ``latest.md``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table as RichTable

from llm_gateway.bench.compare import compare
from llm_gateway.bench.goals import judge_sweep
from llm_gateway.bench.results import SweepResult
from llm_gateway.bench.tables import (
    Table,
    absolute_table,
    goals_table,
    latency_table,
    markdown_table,
    targets_table,
    throughput_table,
)


def sweep_tables(sweep: SweepResult) -> list[Table]:
    """Every table of a sweep report, in the order they are shown."""
    comparisons = compare(sweep)
    return [
        throughput_table(comparisons),
        latency_table(comparisons),
        goals_table(judge_sweep(sweep)),
        targets_table(sweep),
    ]


def sweep_document(sweep: SweepResult) -> dict[str, Any]:
    """The JSON form: raw runs, per-cell comparisons and the targets' verdicts."""
    out = sweep.to_dict()
    out["comparisons"] = [item.to_dict() for item in compare(sweep)]
    out["goals"] = [goal.to_dict() for goal in judge_sweep(sweep)]
    return out


def print_tables(console: Console, tables: list[Table]) -> None:
    for table in tables:
        rich_table = RichTable(title=table.title, title_justify="left", header_style="bold")
        for i, name in enumerate(table.header):
            first = i == 0
            rich_table.add_column(name, justify="left" if first else "right", no_wrap=first)
        for row in table.rows:
            rich_table.add_row(*row)
        console.print(rich_table)


def sweep_markdown(sweep: SweepResult, plot: str | None = None) -> str:
    """The sweep as a markdown report: context, tables, every run."""
    machine, settings = sweep.machine, sweep.settings
    lines = [
        f"# Benchmark {sweep.started_at}",
        "",
        f"Commit `{machine.get('commit')}` · {machine.get('cpu')} · {machine.get('cores')} cores · "
        f"Python {machine.get('python')} · load average before "
        f"{', '.join(f'{x:.2f}' for x in machine.get('loadavg_before', ()))}",
        "",
        f"Servers on core {settings['server_core']}, load generator and mocks on core "
        f"{settings['load_core']} (taskset: load generator {machine.get('loadgen_affinity')}, "
        f"mocks {machine.get('mock_affinity')}). Each cell: at most {settings['max_requests']} "
        f"requests or {settings['max_seconds']} s after {settings['warmup_seconds']} s warm-up; "
        f"streams of {settings['chunks']} chunks; mock: {settings['mock_command']}; gateway "
        f"features: {settings['features'] or 'none'}.",
        "",
    ]
    if plot:
        lines += [f"![sweep]({plot})", ""]
    for table in [*sweep_tables(sweep), absolute_table(sweep)]:
        lines += [f"## {table.title}", "", markdown_table(table), ""]
    return "\n".join(lines)


def write_results(sweep: SweepResult, directory: Path) -> tuple[Path, Path]:
    """Write ``latest.json`` and ``latest.md`` into ``directory``; return both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / "latest.json", directory / "latest.md"
    json_path.write_bytes(orjson.dumps(sweep_document(sweep), option=orjson.OPT_INDENT_2))
    md_path.write_text(sweep_markdown(sweep))
    return json_path, md_path
