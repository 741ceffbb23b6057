"""Plots for docs/performance.md, drawn with matplotlib (the optional ``bench`` extra).

Every function returns the path written, or None when matplotlib is not installed; the caller
says so (``pip install -e '.[bench]'``) and the rest of the report is written regardless.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llm_gateway.bench.compare import compare
from llm_gateway.bench.results import SweepResult

COLOURS = {"direct": "#888888", "gateway": "#1f77b4", "litellm": "#d62728"}
MISSING = "matplotlib is not installed: pip install -e '.[bench]' to draw plots"


def _pyplot() -> Any | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def sweep_plot(sweep: SweepResult, path: Path) -> Path | None:
    """Throughput and added p99 by concurrency, per mode and delay, gateway vs LiteLLM."""
    plt = _pyplot()
    if plt is None:
        return None
    comparisons = compare(sweep)
    delays = sorted({c.cell.delay_ms for c in comparisons})
    fig, axes = plt.subplots(2, 2 * len(delays), figsize=(5 * len(delays) * 2, 8), squeeze=False)
    for col, (delay, stream) in enumerate((d, s) for d in delays for s in (False, True)):
        rows = [c for c in comparisons if c.cell.delay_ms == delay and c.cell.stream == stream]
        xs = [c.cell.concurrency for c in rows]
        title = f"{'stream' if stream else 'json'}, upstream {delay:g} ms"
        top, bottom = axes[0][col], axes[1][col]
        for target in ("direct", "gateway", "litellm"):
            ys = [c.rps[target] for c in rows]
            _line(top, xs, ys, target)
        for target in ("gateway", "litellm"):
            ys = [(c.added_latency[target] or {}).get("p99") for c in rows]
            _line(bottom, xs, ys, target)
        top.set(title=title, ylabel="per second", xscale="log", yscale="log")
        bottom.set(ylabel="added p99 ms", xlabel="concurrent callers", xscale="log", yscale="log")
        top.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _line(axis: Any, xs: Sequence[int], ys: Sequence[float | None], target: str) -> None:
    points = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None and y > 0]
    if points:
        axis.plot(*zip(*points, strict=True), marker="o", label=target, color=COLOURS[target])


def history_plot(history: list[dict[str, Any]], path: Path) -> Path | None:
    """Gateway peak throughput and its ratio to LiteLLM over recorded runs."""
    plt = _pyplot()
    if plt is None or not history:
        return None
    labels = [f"{h['date'][:10]}\n{h.get('commit') or ''}" for h in history]
    xs = list(range(len(history)))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    for key, name in (("gateway_json_peak", "json req/s"), ("gateway_stream_peak", "streams/s")):
        left.plot(xs, [h.get(key) or 0 for h in history], marker="o", label=name)
    for key, name in (("json_ratio", "json"), ("stream_ratio", "stream")):
        right.plot(xs, [h.get(key) or 0 for h in history], marker="o", label=name)
    left.axhline(2000, linestyle=":", color="#1f77b4")
    left.axhline(800, linestyle=":", color="#ff7f0e")
    right.axhline(15, linestyle=":", color="black")
    left.set(title="gateway peak throughput", ylabel="per second")
    right.set(title="gateway / LiteLLM peak throughput", ylabel="x")
    for axis in (left, right):
        axis.set_xticks(xs, labels, fontsize=7)
        axis.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def soak_plot(
    samples: list[dict[str, Any]], path: Path, warmup_mark: int | None = None
) -> Path | None:
    """RSS, open descriptors and asyncio tasks against requests served; a dotted line marks
    where growth starts being measured."""
    plt = _pyplot()
    if plt is None or not samples:
        return None
    xs = [s["requests"] for s in samples]
    series = [("rss_mb", "RSS MB"), ("open_fds", "open fds"), ("asyncio_tasks", "asyncio tasks")]
    if any(s.get("redis_used_mb") is not None for s in samples):
        series.append(("redis_used_mb", "Redis used MB"))
    fig, axes = plt.subplots(1, len(series), figsize=(4 * len(series), 3.5), squeeze=False)
    for axis, (key, name) in zip(axes[0], series, strict=True):
        points = [(x, s[key]) for x, s in zip(xs, samples, strict=True) if s.get(key) is not None]
        if points:
            axis.plot(*zip(*points, strict=True), color="#1f77b4")
        if warmup_mark:
            axis.axvline(warmup_mark, linestyle=":", color="grey")
        axis.set(title=name, xlabel="requests served")
        axis.set_ylim(bottom=0)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
