"""The sweep's figures as plain tables (header + rows of strings), rendered to the terminal by
:mod:`.report` and to markdown by :func:`markdown_table`."""

from __future__ import annotations

from dataclasses import dataclass

from llm_gateway.bench.compare import CellComparison
from llm_gateway.bench.goals import Goal
from llm_gateway.bench.results import SweepResult

DASH = "—"


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]


def fmt(value: float | int | None, digits: int = 1, suffix: str = "") -> str:
    """A number for a table cell; a dash when it was not measured."""
    if value is None:
        return DASH
    if isinstance(value, int):
        return f"{value}{suffix}"
    return f"{value:,.{digits}f}{suffix}"


def _pick(entry: dict[str, float] | None, key: str) -> float | None:
    return entry[key] if entry else None


def throughput_table(comparisons: list[CellComparison]) -> Table:
    rows = []
    for c in comparisons:
        errors = "/".join(fmt(c.errors[name], 0) for name in ("direct", "gateway", "litellm"))
        rows.append(
            [
                c.cell.label,
                fmt(c.rps["direct"], 0),
                fmt(c.rps["gateway"], 0),
                fmt(c.rps["litellm"], 1),
                fmt(c.throughput_ratio, 1, "x"),
                fmt(c.cpu_ms["gateway"], 2),
                fmt(1000 / c.cpu_ms["gateway"] if c.cpu_ms["gateway"] else None, 0),
                fmt(c.cpu_ms["litellm"], 2),
                errors,
            ]
        )
    header = ["cell", "direct/s", "gateway/s", "LiteLLM/s", "gw/LiteLLM", "gw CPU ms/req"]
    header += ["gw 1000/CPU ms", "LiteLLM CPU ms/req", "errors d/g/l"]
    return Table("Throughput (closed loop, requests or streams per second)", header, rows)


def latency_table(comparisons: list[CellComparison]) -> Table:
    rows = []
    for c in comparisons:
        gw, lite = c.added_latency["gateway"], c.added_latency["litellm"]
        gw_ttfb, lite_ttfb = c.added_ttfb["gateway"], c.added_ttfb["litellm"]
        rows.append(
            [
                c.cell.label,
                fmt(_pick(gw, "p50"), 2),
                fmt(_pick(gw, "p90"), 2),
                fmt(_pick(gw, "p99"), 2),
                fmt(_pick(gw_ttfb, "p50"), 2),
                fmt(_pick(gw_ttfb, "p99"), 2),
                fmt(_pick(lite, "p50"), 1),
                fmt(_pick(lite, "p99"), 1),
                fmt(_pick(lite_ttfb, "p50"), 1),
                fmt(c.added_p50_ratio, 0, "x"),
            ]
        )
    header = ["cell", "gw +p50", "gw +p90", "gw +p99", "gw TTFB +p50", "gw TTFB +p99"]
    header += ["LiteLLM +p50", "LiteLLM +p99", "LiteLLM TTFB +p50", "LiteLLM/gw +p50"]
    return Table("Added latency over the direct run (ms)", header, rows)


def absolute_table(sweep: SweepResult) -> Table:
    rows = []
    for item in sweep.cells:
        lat, ttfb = item.latency, item.ttfb
        rows.append(
            [
                item.target,
                item.cell.label,
                fmt(item.completed, 0),
                fmt(item.rps, 1),
                fmt(lat.p50 if lat else None, 2),
                fmt(lat.p90 if lat else None, 2),
                fmt(lat.p99 if lat else None, 2),
                fmt(ttfb.p50 if ttfb else None, 2),
                fmt(ttfb.p99 if ttfb else None, 2),
                fmt(item.server_cpu_ms_per_request, 2),
                fmt(item.server_rss_mb, 0),
                fmt(item.loadgen_core_busy_percent, 0, "%"),
                fmt(item.server_core_others_percent, 0, "%"),
                fmt(item.error_count, 0),
            ]
        )
    header = ["target", "cell", "ok", "req/s", "p50", "p90", "p99", "TTFB p50", "TTFB p99"]
    header += ["server CPU ms/req", "server RSS MB", "load core busy", "others on server core"]
    header += ["errors"]
    return Table("Every run (latency in ms)", header, rows)


def targets_table(sweep: SweepResult) -> Table:
    rows = []
    for info in sweep.targets.values():
        rows.append(
            [
                info.name,
                info.affinity or DASH,
                fmt(info.startup_s, 1, " s"),
                fmt(info.rss_after_start_mb, 0),
                fmt(info.rss_at_end_mb, 0),
                fmt(info.requests_total, 0),
                info.failure or "",
            ]
        )
    header = ["target", "cores", "start-up", "RSS after start MB", "RSS at end MB"]
    header += ["requests", "failure"]
    return Table("Servers", header, rows)


def goals_table(goals: list[Goal]) -> Table:
    rows = []
    for goal in goals:
        sign = "≥" if goal.at_least else "≤"
        verdict = {True: "met", False: "NOT met", None: "not measured"}[goal.met]
        rows.append(
            [goal.name, fmt(goal.measured, 2), f"{sign} {goal.limit:g} {goal.unit}", verdict]
        )
    return Table("Targets", ["target", "measured", "goal", "verdict"], rows)


def markdown_table(table: Table) -> str:
    """The table as GitHub markdown, cells with ``|`` escaped."""
    lines = [
        "| " + " | ".join(table.header) + " |",
        "|" + "|".join("---" for _ in table.header) + "|",
    ]
    for row in table.rows:
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines)
