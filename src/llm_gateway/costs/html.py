"""The savings report as one self-contained HTML page: totals, per-node tables and inline SVG
charts (actual cost against the best candidate and the v1 baseline, per node)."""

from __future__ import annotations

from html import escape
from typing import Any

from llm_gateway.compare.charts import bar_chart, page, table


def _f(value: str | None) -> float:
    return float(value) if value not in (None, "") else 0.0


def render_cost_report(report: dict[str, Any]) -> str:
    title = "LLM gateway — cost savings report"
    if report.get("status") != "ok":
        return page(title, f"<p>{escape(str(report.get('message', report.get('status'))))}</p>")
    totals = report["totals"]
    realised = totals["realised_vs_v1"]
    window = report["window"]
    parts = [
        f'<p class="note">{escape(report["basis"])}. {escape(report["note"])}</p>',
        f"<p>Window: {escape(window['start'])} → {escape(window['end'])} "
        f"({window['covered_days']} days with data). {escape(report['projection'])}.</p>",
    ]
    if "warning" in report:
        parts.append(f'<p class="bad">{escape(report["warning"])}</p>')
    parts.append(
        table(
            ["", "value"],
            [
                ["requests", totals["requests"]],
                ["actual cost (USD)", totals["actual_cost_usd"]],
                ["potential savings (USD)", totals["potential_savings_usd"]],
                ["potential savings (%)", totals["potential_savings_pct"]],
                ["projected monthly savings (USD)", totals["projected_monthly_savings_usd"]],
                ["realised vs v1 (USD)", realised["savings_usd"]],
                ["realised vs v1 (%)", realised["savings_pct"]],
                ["guide target (%)", "-".join(str(t) for t in realised["target_pct"])],
            ],
        )
    )
    nodes = report["nodes"]
    labels = [n["node"] for n in nodes]
    best = [_f(n["actual_cost_usd"]) - _f(n.get("potential_savings_usd")) for n in nodes]
    baseline = [_f(n["realised_vs_v1"].get("baseline_cost_usd")) for n in nodes]
    parts.append(
        bar_chart(
            "Cost per node in the window (USD)",
            labels,
            [
                ("actual", [_f(n["actual_cost_usd"]) for n in nodes]),
                ("best eligible candidate", best),
                ("v1 baseline (same tokens)", baseline),
            ],
        )
    )
    for n in nodes:
        parts.append(f"<h2>{escape(n['node'])}</h2>")
        parts.append(
            f"<p>{n['requests']} requests · now {escape(str(n.get('current_model')))} · actual "
            f"${escape(n['actual_cost_usd'])} · v1 baseline "
            f"{escape(str(n['realised_vs_v1'].get('baseline_model')))}</p>"
        )
        rows = []
        for c in n.get("candidates", []):
            seen = c["evidence"]["observed"] or {}
            rows.append(
                [
                    c["model"],
                    c["cost_usd"],
                    c["savings_usd"],
                    c["savings_pct"],
                    c["projected_monthly_savings_usd"],
                    c["evidence"]["declared_quality"],
                    seen.get("error_rate", "-"),
                    seen.get("avg_latency_ms", "-"),
                ]
            )
        if rows:
            headers = ["candidate", "cost", "savings", "%", "monthly", "quality", "errors",
                       "latency ms"]  # fmt: skip
            parts.append(table(headers, rows))
        else:
            parts.append("<p>No eligible model would have been cheaper.</p>")
    return page(title, "".join(parts))
