"""Selection latency on the shipped catalogue: cold (cache cleared before every call) and cached.

    .venv/bin/python bench/selection_bench.py [--n 10000] [--config-dir DIR] [--json FILE]

Each run makes ``--n`` timed selections per mode, cycling over a set of realistic contexts: every
node family of the guide x every strategy (and the node's default) x several request sizes.
Modes:

- cold          the cache is cleared before each call: the full selection procedure runs
- cached        every context was selected once before: a cache hit
- cached+trace  a cache hit with a new trace id per call, as the gateway calls it (the result is
                copied to carry the caller's trace id)

Prints median, p99, mean and max in microseconds. Bounded in count (``--n``) and in time
(``--max-seconds`` per mode). ``--clock wall`` (default) times each call with ``perf_counter_ns``;
on a shared machine its tail (p99, max) includes the time the thread waited for a CPU.
``--clock cpu`` uses the thread's CPU time (``thread_time_ns``), which leaves that out.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from llm_gateway.config.loader import load_catalog
from llm_gateway.model_policy import ModelPolicyRegistry
from llm_gateway.model_selector import ModelSelector, SelectionContext, SelectionStrategy

SHIPPED = Path(__file__).resolve().parents[1] / "config"
NODES = [
    "writer",
    "evaluator",
    "formatter",
    "search_perplexity",
    "search_scholar",
    "qa_citations",
    "citation_master",
    "unknown_node",
]
STRATEGIES: list[SelectionStrategy | None] = [None, *SelectionStrategy]
SIZES = [(None, None), (800, 300), (6_000, 1_500), (30_000, 4_000), (120_000, 8_000)]


def contexts() -> list[SelectionContext]:
    """Every node x strategy x size: 8 x 5 x 5 = 200 distinct contexts."""
    return [
        SelectionContext(
            node_name=node,
            strategy=strategy,
            estimated_input_tokens=tokens_in,
            estimated_output_tokens=tokens_out,
        )
        for node in NODES
        for strategy in STRATEGIES
        for tokens_in, tokens_out in SIZES
    ]


CLOCKS: dict[str, Callable[[], int]] = {"wall": time.perf_counter_ns, "cpu": time.thread_time_ns}


def measure(
    label: str,
    n: int,
    max_seconds: float,
    call: Callable[[int], None],
    clock: Callable[[], int] = time.perf_counter_ns,
) -> dict[str, float | int | str]:
    """Time ``call(i)`` for i in range(n) with ``clock``, stopping early after ``max_seconds``."""
    samples: list[int] = []
    step = max(1, n // 20)
    started = time.monotonic()
    for i in range(n):
        t0 = clock()
        call(i)
        samples.append(clock() - t0)
        if i % step == 0 or i == n - 1:
            done = (i + 1) / n
            bar = "#" * int(done * 30)
            print(f"\r  {label:<13} [{bar:<30}] {i + 1:>6}/{n}", end="", file=sys.stderr)
        if time.monotonic() - started > max_seconds:
            print(f"\n  {label}: stopped after {max_seconds}s", file=sys.stderr)
            break
    print(file=sys.stderr)
    return summarize(label, samples)


def summarize(label: str, samples_ns: list[int]) -> dict[str, float | int | str]:
    ordered = sorted(samples_ns)
    us = [s / 1000 for s in ordered]
    p99 = us[min(len(us) - 1, int(len(us) * 0.99))]
    return {
        "mode": label,
        "n": len(us),
        "median_us": round(statistics.median(us), 2),
        "p99_us": round(p99, 2),
        "mean_us": round(statistics.fmean(us), 2),
        "max_us": round(us[-1], 2),
    }


def run(
    n: int, config_dir: Path, max_seconds: float, clock: Callable[[], int]
) -> list[dict[str, float | int | str]]:
    catalog = load_catalog(config_dir)
    selector = ModelSelector(ModelPolicyRegistry.from_catalog(catalog))
    pool = contexts()
    print(
        f"{len(catalog.policies)} models, {len(catalog.nodes)} node entries, "
        f"{len(pool)} contexts, {n} selections per mode",
        file=sys.stderr,
    )
    for context in pool:  # fail fast on an unservable context, and warm imports
        selector.select(context)

    def cold(i: int) -> None:
        selector.clear_cache()
        selector.select(pool[i % len(pool)])

    def cached(i: int) -> None:
        selector.select(pool[i % len(pool)])

    traced = [replace(pool[i % len(pool)], trace_id=f"trace-{i}") for i in range(n)]

    def cached_with_trace(i: int) -> None:
        selector.select(traced[i])

    results = [measure("cold", n, max_seconds, cold, clock)]
    selector.clear_cache()
    for context in pool:
        selector.select(context)
    results.append(measure("cached", n, max_seconds, cached, clock))
    results.append(measure("cached+trace", n, max_seconds, cached_with_trace, clock))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="selections per mode")
    parser.add_argument("--config-dir", type=Path, default=SHIPPED)
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time bound per mode")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    results = run(args.n, args.config_dir, args.max_seconds, CLOCKS[args.clock])
    print(
        f"\nselection latency, microseconds, {args.clock} clock "
        f"({platform.python_implementation()} {platform.python_version()}, {platform.machine()})"
    )
    print(f"{'mode':<14}{'n':>7}{'median':>10}{'p99':>10}{'mean':>10}{'max':>11}")
    for row in results:
        print(
            f"{row['mode']:<14}{row['n']:>7}{row['median_us']:>10}{row['p99_us']:>10}"
            f"{row['mean_us']:>10}{row['max_us']:>11}"
        )
    if args.json:
        payload = {"clock": args.clock, "selection_latency_us": results}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
