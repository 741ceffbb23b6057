"""``llm-gateway traces | metrics``: what the record store at ``DATABASE_URL`` holds, read
directly (no server needed), as Rich tables — or JSON with ``--json``.

``metrics`` reads the ledger (every request, whatever the sampling): the same numbers as the
admin API's ``/metrics`` and the guide's ``get_tracer().get_trace_metrics()``. ``traces`` reads
the sampled traces; ``--trace-id`` shows one trace in full (every request that carried it).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from llm_gateway.cli.app import app
from llm_gateway.cli.db import database_url_or_exit, fail, read_store, shown
from llm_gateway.storage import queries
from llm_gateway.storage.store import RecordStore

HoursOption = Annotated[
    float, typer.Option("--hours", min=0.001, help="Window: the last HOURS hours.")
]
NodeOption = Annotated[str | None, typer.Option("--node", help="Only this node.")]
ModelOption = Annotated[str | None, typer.Option("--model", help="Only this answering model.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _emit_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def _window(hours: float, node: str | None, model: str | None) -> str:
    parts = [f"last {hours:g} h"]
    parts += [f"node {node}"] if node else []
    parts += [f"model {model}"] if model else []
    return " · ".join(parts)


@app.command()
def traces(
    hours: HoursOption = 1.0,
    node: NodeOption = None,
    model: ModelOption = None,
    errors: Annotated[bool, typer.Option("--errors", help="Only failed requests.")] = False,
    trace_id: Annotated[
        str | None, typer.Option("--trace-id", help="Show this trace in full (any age).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """The sampled traces of the record store, newest first (or one trace with --trace-id)."""
    url = database_url_or_exit()
    if trace_id is not None:
        found = read_store(url, lambda store: queries.get_trace(store, trace_id, limit))
        if found is None:
            fail(f"no trace {trace_id!r} in the record store {shown(url)}")
        if as_json:
            _emit_json(found)
        else:
            _print_trace(found)
        return

    async def listed(store: RecordStore) -> list[dict[str, Any]]:
        return await queries.list_traces(
            store, hours, limit, node=node, model=model, errors_only=errors
        )

    rows = read_store(url, listed)
    if as_json:
        _emit_json({"traces": rows, "count": len(rows)})
        return
    console = _console()
    what = _window(hours, node, model) + (" · errors only" if errors else "")
    if not rows:
        console.print(f"no traces ({what}) in {shown(url)}", markup=False)
        return
    table = Table(title=f"Traces · {what}", caption=shown(url))
    for column, justify in (
        ("time (UTC)", "left"),
        ("trace id", "left"),
        ("node", "left"),
        ("model", "left"),
        ("status", "left"),
        ("attempts", "right"),
        ("ms", "right"),
        ("cost $", "right"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for trace in rows:
        table.add_row(
            _time(trace.get("timestamp")),
            Text(str(trace.get("trace_id", ""))),
            Text(str(trace.get("node_name") or "")),
            Text(str(trace.get("model") or "—")),
            _status(trace),
            str(len(trace.get("attempts") or [])),
            f"{float(trace.get('duration_ms') or 0):,.0f}",
            _cost(trace),
        )
    console.print(table)
    console.print(f"{len(rows)} trace(s); newest first; at most {limit}", markup=False)


def _print_trace(trace: dict[str, Any]) -> None:
    console = _console()
    usage = trace.get("usage") or {}
    facts = Table(title=f"Trace {trace.get('trace_id')}", show_header=False)
    facts.add_column("", style="bold", no_wrap=True)
    facts.add_column("", overflow="fold")
    for label, value in (
        ("request id", trace.get("request_id")),
        ("time (UTC)", _time(trace.get("timestamp"))),
        ("node", trace.get("node_name")),
        ("strategy", trace.get("strategy")),
        ("requested model", trace.get("requested_model")),
        ("model", trace.get("model")),
        ("provider", trace.get("provider")),
        ("status", trace.get("status")),
        ("stream", "yes" if trace.get("stream") else "no"),
        ("duration ms", f"{float(trace.get('duration_ms') or 0):,.1f}"),
        (
            "tokens in / out",
            f"{usage.get('prompt_tokens', 0)} / {usage.get('completion_tokens', 0)}",
        ),
        ("cost $", _cost(trace)),
        ("fallback chain", " → ".join(trace.get("fallback_chain") or []) or None),
        ("selection", "\n".join(trace.get("selection_reasons") or []) or None),
        ("error", _error_text(trace.get("error"))),
    ):
        if value is not None and value != "":
            facts.add_row(label, Text(str(value)))
    console.print(facts)
    attempts = trace.get("attempts") or []
    if attempts:
        table = Table(title="Attempts")
        for column in ("#", "model", "provider", "retry", "ok", "ms", "error"):
            table.add_column(column, overflow="fold")
        for n, attempt in enumerate(attempts, 1):
            table.add_row(
                str(n),
                Text(str(attempt.get("model", ""))),
                Text(str(attempt.get("provider", ""))),
                str(attempt.get("retry_index", 0)),
                "yes" if attempt.get("ok") else "no",
                f"{float(attempt.get('duration_ms') or 0):,.1f}",
                Text(_error_text(attempt.get("error")) or ""),
            )
        console.print(table)
    others = trace.get("requests") or []
    if len(others) > 1:
        table = Table(title=f"{trace.get('request_count')} requests carried this trace id")
        for column in ("time (UTC)", "request id", "node", "model", "status", "ms"):
            table.add_column(column, overflow="fold")
        for request in others:
            table.add_row(
                _time(request.get("timestamp")),
                Text(str(request.get("request_id", ""))),
                Text(str(request.get("node_name") or "")),
                Text(str(request.get("model") or "—")),
                _status(request),
                f"{float(request.get('duration_ms') or 0):,.0f}",
            )
        console.print(table)


@app.command()
def metrics(
    hours: HoursOption = 1.0,
    node: NodeOption = None,
    model: ModelOption = None,
    as_json: JsonOption = False,
) -> None:
    """Request count, error and fallback rates, latency, cost and model mix, from the ledger."""
    url = database_url_or_exit()
    found = read_store(
        url, lambda store: queries.trace_metrics(store, hours, node=node, model=model)
    )
    if as_json:
        _emit_json(found)
        return
    console = _console()
    summary = Table(title=f"Metrics · {_window(hours, node, model)}", caption=shown(url))
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    count = found["request_count"]
    ttft = found["avg_ttft_ms"]
    for label, value in (
        ("requests", f"{count:,}"),
        ("errors", f"{found['error_count']:,} ({found['error_rate']:.1%})"),
        ("fallback rate", f"{found['fallback_rate']:.1%}"),
        ("avg duration ms", f"{found['avg_duration_ms']:,.1f}"),
        ("p50 duration ms", f"{found['p50_duration_ms']:,.1f}"),
        ("p95 duration ms", f"{found['p95_duration_ms']:,.1f}"),
        ("avg time to first token ms", "—" if ttft is None else f"{ttft:,.1f}"),
        ("total cost $", found["total_cost_usd"]),
        ("cost per request $", f"{found['cost_per_request']:.8f}" if count else "—"),
    ):
        summary.add_row(label, value)
    console.print(summary)
    for title, column, key in (
        ("Models", "model", "model_distribution"),
        ("Nodes", "node", "node_distribution"),
        ("Capabilities", "capability", "capability_usage"),
    ):
        if found[key]:
            console.print(_distribution(title, column, found[key], count))


def _distribution(title: str, column: str, counts: dict[str, int], total: int) -> Table:
    table = Table(title=title)
    table.add_column(column, overflow="fold")
    table.add_column("requests", justify="right")
    table.add_column("share", justify="right")
    for name, n in counts.items():
        table.add_row(Text(name), f"{n:,}", f"{n / total:.1%}" if total else "—")
    return table


def _time(timestamp: Any) -> str:
    if timestamp is None:
        return "—"
    return datetime.fromtimestamp(float(timestamp), UTC).strftime("%Y-%m-%d %H:%M:%S")


def _status(trace: dict[str, Any]) -> Text:
    status = str(trace.get("status") or ("ok" if trace.get("ok") else "error"))
    return Text(status, style="green" if status == "ok" else "red")


def _cost(trace: dict[str, Any]) -> str:
    cost = trace.get("cost")
    if isinstance(cost, dict) and cost.get("total") is not None:
        return str(cost["total"])
    return "—"


def _error_text(error: Any) -> str | None:
    if error is None:
        return None
    if isinstance(error, dict):
        kind = error.get("type") or error.get("code")
        message = error.get("message") or ""
        return f"{kind}: {message}" if kind else str(message)
    return str(error)
