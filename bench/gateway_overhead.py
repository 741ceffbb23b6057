"""What LLMGateway.complete adds to one non-streaming request, measured side by side.

Starts the simulator (zero latency) in its own process pinned to one core, then from this process
(pinned to the other core) sends the same request, one at a time and interleaved:
  * direct:  the gateway's own OpenRouter provider (same pooled aiohttp client) → simulator
  * gateway: LLMGateway.complete (select, chain, settle, record) → the same provider → simulator
and prints median and p99 of both and of the difference. Bounded in count and time.

    .venv/bin/python bench/gateway_overhead.py [--requests 5000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.progress import Progress

from llm_gateway.gateway import build_gateway
from llm_gateway.model_policy import DEFAULT_DEADLINES
from llm_gateway.providers.base import ProviderRequest
from llm_gateway.settings import Settings

MESSAGES = [{"role": "user", "content": "Say something short."}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_simulator(port: int) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("llm-gateway")
    cmd = [str(exe), "simulate", "--port", str(port), "--zero-latency"]
    if os.cpu_count() and os.cpu_count() > 1:  # type: ignore[operator]
        cmd = ["taskset", "-c", "1", *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("simulator did not start")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(requests: int, seconds: float, base_url: str) -> dict[str, list[float]]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        OPENROUTER_API_KEY="sk-or-bench",
        OPENROUTER_BASE_URL=base_url,
        GATEWAY_SIMULATE=False,
    )
    gateway = build_gateway(settings)
    policy = gateway.registry.get_policy("gpt-4o-mini")
    provider = gateway.providers.get(policy.provider)
    body = {"model": "gpt-4o-mini", "messages": MESSAGES}
    route = gateway.resolve_route("gpt-4o-mini")
    times: dict[str, list[float]] = {"direct": [], "gateway": []}

    async def direct() -> None:
        request = ProviderRequest(
            body={**body, "model": policy.provider_model_id},
            policy=policy,
            deadlines=DEFAULT_DEADLINES,
            deadline_at=time.monotonic() + 30,
        )
        await provider.complete(request)

    async def through_gateway() -> None:
        await gateway.complete(dict(body), route)

    for _ in range(200):  # warm-up: pool, caches, JIT-free but allocator warm
        await direct()
        await through_gateway()
    stop_at = time.monotonic() + seconds
    with Progress() as progress:
        task = progress.add_task("interleaved requests", total=requests)
        for i in range(requests):
            if time.monotonic() > stop_at:
                break
            for name, call in (("direct", direct), ("gateway", through_gateway)):
                t0 = time.perf_counter()
                await call()
                times[name].append((time.perf_counter() - t0) * 1000)
            if i % 100 == 0:
                progress.update(task, completed=i)
        progress.update(task, completed=requests)
    await gateway.aclose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {0})
    port = free_port()
    sim = start_simulator(port)
    try:
        import uvloop

        times = uvloop.run(run(args.requests, args.seconds, f"http://127.0.0.1:{port}/api/v1"))
    finally:
        sim.terminate()
        sim.wait(5)
    direct, gateway = times["direct"], times["gateway"]
    added = [g - d for g, d in zip(gateway, direct, strict=True)]
    print(f"\n{len(direct)} interleaved pairs, simulator on core 1, client+gateway on core 0")
    print(f"{'':10} {'median ms':>10} {'p99 ms':>10}")
    for name, values in (("direct", direct), ("gateway", gateway)):
        print(f"{name:10} {statistics.median(values):10.3f} {pct(values, 0.99):10.3f}")
    print(
        f"{'added':10} {statistics.median(added):10.3f} {pct(added, 0.99):10.3f}"
        "   (per-pair difference)"
    )
    print(
        f"added (median of gateway - median of direct): "
        f"{statistics.median(gateway) - statistics.median(direct):.3f} ms"
    )


if __name__ == "__main__":
    main()
