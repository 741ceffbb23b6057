"""The comparison's totals and its three forms: JSON (:func:`comparison_json`), a Rich table
(:func:`print_comparison`) and a self-contained HTML page with charts (:func:`render_html`)."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from html import escape
from typing import Any

from rich.console import Console
from rich.table import Table

from llm_gateway.compare.charts import bar_chart, page, table
from llm_gateway.compare.runner import ArmResult, PromptComparison

SIMILARITY_MEASURE = (
    "mean of the Jaccard indices of the answers' word sets and word bigrams (0..1): shared "
    "vocabulary and phrasing, the measure of the shadow comparisons; not a quality judgement"
)


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * (len(ordered) - 1) + 0.5))]


def _arm_totals(arms: Sequence[ArmResult]) -> dict[str, Any]:
    ok = [a for a in arms if a.ok]
    latencies = [a.latency_ms for a in ok]
    costs = [a.cost_usd for a in ok if a.cost_usd is not None]
    return {
        "requests": len(arms),
        "failures": len(arms) - len(ok),
        "avg_latency_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "p95_latency_ms": round(_p95(latencies), 1) if latencies else None,
        "total_cost_usd": round(sum(costs), 10) if costs else None,
        "avg_output_chars": round(statistics.fmean(len(a.text) for a in ok), 1) if ok else None,
        "models": dict(Counter(a.model for a in ok if a.model).most_common()),
    }


def _change_pct(new: float | None, old: float | None) -> float | None:
    if new is None or old is None or old == 0:
        return None
    return round((new - old) / old * 100, 2)


def summarise(results: Sequence[PromptComparison]) -> dict[str, Any]:
    v1 = _arm_totals([r.v1 for r in results])
    v2 = _arm_totals([r.v2 for r in results])
    scores = [s for s in (r.similarity for r in results) if s is not None]
    return {
        "prompts": len(results),
        "v1": v1,
        "v2": v2,
        "similarity": {
            "measure": SIMILARITY_MEASURE,
            "mean": round(statistics.fmean(scores), 4) if scores else None,
            "min": round(min(scores), 4) if scores else None,
            "compared": len(scores),
        },
        "cost_change_pct": _change_pct(v2["total_cost_usd"], v1["total_cost_usd"]),
        "latency_change_pct": _change_pct(v2["avg_latency_ms"], v1["avg_latency_ms"]),
    }


def comparison_json(
    results: Sequence[PromptComparison], *, node: str, old_model: str, v2_target: str
) -> dict[str, Any]:
    return {
        "node": node,
        "v1": {"model": old_model, "path": "direct to the model's provider"},
        "v2": {"path": v2_target},
        "totals": summarise(results),
        "prompts": [r.as_dict() for r in results],
    }


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:.6f}"


def _num(value: float | None, suffix: str = "") -> str:
    return "-" if value is None else f"{value:g}{suffix}"


def print_comparison(report: dict[str, Any], console: Console) -> None:
    table_ = Table(title=f"v1 {report['v1']['model']} vs v2 gateway · node {report['node']}")
    for column in ("prompt", "v1 ms", "v2 ms", "v1 $", "v2 $", "v1 chars", "v2 chars",
                   "similarity", "v2 model", "failures"):  # fmt: skip
        table_.add_column(column, justify="left" if column in ("prompt", "v2 model") else "right")
    for p in report["prompts"]:
        v1, v2 = p["v1"], p["v2"]
        failed = [arm for arm in ("v1", "v2") if not p[arm]["ok"]]
        table_.add_row(
            p["id"],
            f"{v1['latency_ms']:.0f}",
            f"{v2['latency_ms']:.0f}",
            _money(v1["cost_usd"]),
            _money(v2["cost_usd"]),
            str(v1["output_chars"]),
            str(v2["output_chars"]),
            _num(p["similarity"]),
            v2["model"] or "-",
            ", ".join(failed) or "-",
        )
    t = report["totals"]
    table_.add_section()
    table_.add_row(
        "total",
        _num(t["v1"]["avg_latency_ms"], " avg"),
        _num(t["v2"]["avg_latency_ms"], " avg"),
        _money(t["v1"]["total_cost_usd"]),
        _money(t["v2"]["total_cost_usd"]),
        _num(t["v1"]["avg_output_chars"], " avg"),
        _num(t["v2"]["avg_output_chars"], " avg"),
        _num(t["similarity"]["mean"], " mean"),
        ", ".join(t["v2"]["models"]) or "-",
        f"{t['v1']['failures']} / {t['v2']['failures']}",
    )
    console.print(table_)
    console.print(
        f"cost change v2 vs v1: {_num(t['cost_change_pct'], '%')} · latency change: "
        f"{_num(t['latency_change_pct'], '%')} · similarity: {t['similarity']['measure']}",
        markup=False,
    )
    for p in report["prompts"]:
        for arm in ("v1", "v2"):
            if p[arm]["error"]:
                console.print(f"{p['id']} {arm} failed: {p[arm]['error']}", markup=False)


def render_html(report: dict[str, Any]) -> str:
    t = report["totals"]
    ids = [p["id"] for p in report["prompts"]]
    ok = [p for p in report["prompts"] if p["v1"]["ok"] and p["v2"]["ok"]]
    body = [
        f"<p>Node <b>{escape(report['node'])}</b>: v1 = <b>{escape(report['v1']['model'])}</b> "
        f"({escape(report['v1']['path'])}); v2 = {escape(report['v2']['path'])}.</p>",
        table(
            ["", "v1", "v2"],
            [
                ["requests", t["v1"]["requests"], t["v2"]["requests"]],
                ["failures", t["v1"]["failures"], t["v2"]["failures"]],
                [
                    "avg latency ms",
                    _num(t["v1"]["avg_latency_ms"]),
                    _num(t["v2"]["avg_latency_ms"]),
                ],
                [
                    "p95 latency ms",
                    _num(t["v1"]["p95_latency_ms"]),
                    _num(t["v2"]["p95_latency_ms"]),
                ],
                [
                    "total cost USD",
                    _money(t["v1"]["total_cost_usd"]),
                    _money(t["v2"]["total_cost_usd"]),
                ],
                [
                    "avg output chars",
                    _num(t["v1"]["avg_output_chars"]),
                    _num(t["v2"]["avg_output_chars"]),
                ],
                ["models", ", ".join(t["v1"]["models"]), ", ".join(t["v2"]["models"])],
            ],
        ),
        f"<p>Mean similarity {escape(_num(t['similarity']['mean']))} over "
        f"{t['similarity']['compared']} prompts; cost change "
        f"{escape(_num(t['cost_change_pct'], '%'))}, latency change"
        f" {escape(_num(t['latency_change_pct'], '%'))}.</p>",
        f'<p class="note">Similarity: {escape(t["similarity"]["measure"])}.</p>',
    ]
    lat = [("v1", [p["v1"]["latency_ms"] for p in report["prompts"]]),
           ("v2", [p["v2"]["latency_ms"] for p in report["prompts"]])]  # fmt: skip
    body.append(bar_chart("Latency per prompt (ms)", ids, lat, " ms"))
    cost = [("v1", [p["v1"]["cost_usd"] or 0.0 for p in report["prompts"]]),
            ("v2", [p["v2"]["cost_usd"] or 0.0 for p in report["prompts"]])]  # fmt: skip
    body.append(bar_chart("Cost per prompt (USD)", ids, cost))
    if ok:
        sims = [("similarity", [p["similarity"] for p in ok])]
        body.append(bar_chart("Similarity v1 ↔ v2 (0..1)", [p["id"] for p in ok], sims))
    body.append("<h2>Per prompt</h2>")
    rows = [
        [
            p["id"], p["v1"]["latency_ms"], p["v2"]["latency_ms"], _money(p["v1"]["cost_usd"]),
            _money(p["v2"]["cost_usd"]), p["v1"]["output_chars"], p["v2"]["output_chars"],
            _num(p["similarity"]), p["v2"]["model"] or "-",
            "; ".join(f"{a}: {p[a]['error']}" for a in ("v1", "v2") if p[a]["error"]) or "-",
        ]
        for p in report["prompts"]
    ]  # fmt: skip
    body.append(
        table(
            ["prompt", "v1 ms", "v2 ms", "v1 $", "v2 $", "v1 chars", "v2 chars", "similarity",
             "v2 model", "failures"],
            rows,
        )
    )  # fmt: skip
    return page(f"Output comparison · {report['node']}", "".join(body))
