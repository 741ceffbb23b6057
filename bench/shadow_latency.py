"""What shadow traffic does to the caller's latency: the legacy client's v1 calls, with the shadow
off and on (100 %), interleaved one by one, while v2 is slow.

The simulator (a thread of this process) answers the v1 model at once and every other model
after ``--v2-delay-ms``; the in-process gateway serves the shadows in the background, at most
``--concurrency`` at a time (the rest are dropped, counted). Prints the caller's median, p95 and
p99 for both modes, their difference, and how many shadows ran and were dropped. Bounded in
count and time.

    .venv/bin/python bench/shadow_latency.py [--requests 600] [--seconds 60] [--v2-delay-ms 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from rich.progress import Progress

from llm_gateway.gateway import build_gateway, set_llm_gateway
from llm_gateway.llm_service import get_llm_client
from llm_gateway.node_integration.loop_thread import background_loop
from llm_gateway.rollout.shadow import shadow_runner
from llm_gateway.settings import Settings, reset_settings_cache
from llm_gateway.simulator.testing import run_simulator

V1_MODEL, V1_PROVIDER_MODEL = "gpt-4o-mini", "openai/gpt-4o-mini"
PROMPT = "Write two sentences about the sea."


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def set_shadow(percentage: int) -> None:
    os.environ["GATEWAY_V2_SHADOW_PERCENTAGE"] = str(percentage)
    reset_settings_cache()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="calls per mode")
    parser.add_argument("--seconds", type=float, default=60.0, help="stop after this long")
    parser.add_argument("--v2-delay-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    scenario = {
        "models": {
            "*": {"ttft_s": args.v2_delay_ms / 1000, "tokens_per_s": 100_000},
            V1_PROVIDER_MODEL: {"ttft_s": 0, "tokens_per_s": 100_000},
        }
    }
    os.environ["GATEWAY_V2_SHADOW_CONCURRENCY"] = str(args.concurrency)
    os.environ["GATEWAY_V2_SHADOW_BUDGET_USD"] = "1000"
    with run_simulator(scenario) as sim, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            GATEWAY_SIMULATE=False,
            OPENROUTER_API_KEY="sk-or-bench-0000",
            OPENROUTER_BASE_URL=sim.base_url,
            DATABASE_URL="",
            GATEWAY_AUDIT_LOG_FILE=Path(tmp) / "audit.jsonl",
        )
        gateway = build_gateway(settings)
        set_llm_gateway(gateway)
        runner = shadow_runner(gateway)
        timings: dict[str, list[float]] = {"off": [], "on": []}
        deadline = time.monotonic() + args.seconds
        with Progress() as progress:
            task = progress.add_task("interleaved calls", total=args.requests * 2)
            for i in range(args.requests * 2):
                if time.monotonic() > deadline:
                    break
                mode = "on" if i % 2 else "off"
                set_shadow(100 if mode == "on" else 0)
                client = get_llm_client("writing", V1_MODEL, user=f"bench-{i}")
                started = time.perf_counter()
                client.invoke(PROMPT)
                timings[mode].append((time.perf_counter() - started) * 1000)
                progress.advance(task)
        background_loop().run(runner.drain(timeout_s=30))
        background_loop().run(gateway.aclose())
    print(f"v2 delay {args.v2_delay_ms:.0f} ms, shadow concurrency {args.concurrency}")
    print(f"{'mode':<12}{'calls':>7}{'median ms':>11}{'p95 ms':>9}{'p99 ms':>9}")
    for mode, values in timings.items():
        print(
            f"{'shadow ' + mode:<12}{len(values):>7}{statistics.median(values):>11.2f}"
            f"{percentile(values, 95):>9.2f}{percentile(values, 99):>9.2f}"
        )
    difference = statistics.median(timings["on"]) - statistics.median(timings["off"])
    print(f"median difference (on - off): {difference:+.2f} ms")
    runs, dropped = sum(runner.runs.values()), dict(runner.dropped)
    print(f"shadows run: {runs}, dropped: {dropped or 0}")


if __name__ == "__main__":
    main()
