"""A finished soak on the terminal, in ``bench/results/soak-latest.json`` and in the docs."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import orjson

from llm_gateway.bench.goals import Goal
from llm_gateway.bench.history import compose
from llm_gateway.bench.plots import MISSING, soak_plot
from llm_gateway.bench.soak import SoakResult
from llm_gateway.bench.tables import Table, fmt, goals_table, markdown_table

GROWTH_LIMIT_PERCENT = 5.0
RSS_LIMIT_MB = 150.0


def soak_goals(result: SoakResult, warmup_mark: int) -> list[Goal]:
    rss = result.summary(warmup_mark).get("rss_mb", {})
    return [
        Goal("RSS after start", result.gateway.rss_after_start_mb, RSS_LIMIT_MB, "MB", False),
        Goal(
            f"RSS growth after {warmup_mark:,} requests",
            rss.get("growth_percent"),
            GROWTH_LIMIT_PERCENT,
            "%",
            False,
        ),
    ]


def growth_table(result: SoakResult, warmup_mark: int) -> Table:
    summary = result.summary(warmup_mark)
    rows = []
    for key, name in (
        ("rss_mb", "RSS MB"),
        ("open_fds", "open file descriptors"),
        ("asyncio_tasks", "asyncio tasks"),
        ("redis_used_mb", "Redis used MB"),
    ):
        entry = summary.get(key, {})
        rows.append(
            [
                name,
                fmt(entry.get("at_warmup"), 1),
                fmt(entry.get("at_end"), 1),
                fmt(entry.get("growth_percent"), 2, "%"),
                fmt(entry.get("idle_after"), 1),
            ]
        )
    title = (
        f"Growth from {summary.get('warmup_at_requests', 0):,} to "
        f"{summary.get('end_at_requests', 0):,} requests"
    )
    return Table(title, ["measure", "at warm-up", "at end", "growth", "idle after"], rows)


def samples_table(result: SoakResult, every: int = 1) -> Table:
    rows = [
        [
            fmt(s.elapsed_s, 0),
            fmt(s.requests, 0),
            fmt(s.rps, 0),
            fmt(s.rss_mb, 1),
            fmt(s.open_fds, 0),
            fmt(s.asyncio_tasks, 0),
            fmt(s.redis_used_mb, 1),
            fmt(s.p50_ms, 2),
            fmt(s.p99_ms, 2),
            fmt(s.errors, 0),
        ]
        for s in result.samples[::every]
    ]
    header = ["s", "requests", "req/s", "RSS MB", "fds", "tasks", "Redis MB", "p50 ms", "p99 ms"]
    return Table("Samples", [*header, "errors"], rows)


def soak_tables(result: SoakResult, warmup_mark: int) -> list[Table]:
    return [growth_table(result, warmup_mark), goals_table(soak_goals(result, warmup_mark))]


def soak_markdown(result: SoakResult, warmup_mark: int, plot: str | None) -> str:
    s = result.settings
    lines = [
        "# Soak",
        "",
        f"Gateway on core {s['server_core']}, load and mock on core {s['load_core']}; "
        f"{s['json_callers']} JSON callers and {s['stream_callers']} streaming callers, closed "
        f"loop, bounded by {s['max_requests']:,} requests or {s['max_seconds']:g} s; sampled every "
        f"{s['interval_s']:g} s; features: {s['features'] or 'none'}; errors: "
        f"{result.errors or 'none'}.",
        "",
    ]
    if plot:
        lines += [f"![soak]({plot})", ""]
    every = max(len(result.samples) // 40, 1)
    for table in [*soak_tables(result, warmup_mark), samples_table(result, every)]:
        lines += [f"## {table.title}", "", markdown_table(table), ""]
    return "\n".join(lines)


def write_soak(result: SoakResult, warmup_mark: int, repo: Path, record: bool) -> list[Path]:
    """Write the JSON result; when ``record``, the docs' soak section and plot too."""
    results = repo / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    json_path = results / "soak-latest.json"
    json_path.write_bytes(orjson.dumps(result.to_dict(warmup_mark), option=orjson.OPT_INDENT_2))
    written = [json_path]
    if record:
        perf = repo / "docs" / "perf"
        samples = [asdict(s) for s in result.samples]
        drawn = soak_plot(samples, perf / "soak.png", warmup_mark)
        report = soak_markdown(result, warmup_mark, "perf/soak.png" if drawn else None)
        if drawn is None:
            report += f"\n_{MISSING}_\n"
        perf.mkdir(parents=True, exist_ok=True)
        (perf / "soak-latest.md").write_text(report)
        written.append(compose(repo / "docs"))
    return written
