"""The soak: one long bounded run against the gateway that samples its memory and handles.

Closed-loop JSON callers and streaming callers run together until ``max_requests`` (in total)
or ``max_seconds``. Every ``interval_s`` a :class:`SoakSample` records requests served, RSS, open
file descriptors, live asyncio tasks (through :mod:`.probe`), Redis memory when the gateway uses
Redis, and the window's throughput and latency. Growth is reported from the warm-up mark
(``warmup_requests`` served) to the end.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llm_gateway.bench.harness import MockFleet, SweepSettings, pin_self, request_body, start_target
from llm_gateway.bench.http_client import build_request
from llm_gateway.bench.loadgen import LoadSpec, Recorder, run_load
from llm_gateway.bench.probe import read_probe
from llm_gateway.bench.procs import open_fds, rss_bytes
from llm_gateway.bench.results import TargetInfo
from llm_gateway.bench.stats import distribution_ms, growth_percent
from llm_gateway.bench.targets import Endpoint, gateway_endpoint

MB = 1024 * 1024


@dataclass(frozen=True)
class SoakSettings:
    max_requests: int = 1_000_000
    max_seconds: float = 1800.0
    json_callers: int = 40
    stream_callers: int = 10
    interval_s: float = 5.0
    warmup_requests: int = 100_000
    features: dict[str, str] = field(default_factory=dict)
    mock_command: str | None = None
    server_core: int = 0
    load_core: int = 1

    @property
    def warmup_mark(self) -> int:
        """Requests after which growth is measured: 100k, or a tenth of a shorter run."""
        return min(self.warmup_requests, self.max_requests // 10)


@dataclass(frozen=True, slots=True)
class SoakSample:
    elapsed_s: float
    requests: int
    errors: int
    rps: float
    rss_mb: float
    open_fds: int
    asyncio_tasks: int | None
    redis_used_mb: float | None
    p50_ms: float | None
    p99_ms: float | None


@dataclass
class SoakResult:
    settings: dict[str, Any]
    gateway: TargetInfo
    samples: list[SoakSample]
    idle: SoakSample
    errors: dict[str, int]

    def summary(self, warmup_mark: int) -> dict[str, Any]:
        """Values at the warm-up mark and at the last sample under load, the growth between
        them, and the values once idle again."""
        if not self.samples:
            return {}
        end = self.samples[-1]
        mark = next((s for s in self.samples if s.requests >= warmup_mark), end)
        out: dict[str, Any] = {"warmup_at_requests": mark.requests, "end_at_requests": end.requests}
        for key in ("rss_mb", "open_fds", "asyncio_tasks", "redis_used_mb"):
            before, after = getattr(mark, key), getattr(end, key)
            out[key] = {"at_warmup": before, "at_end": after}
            out[key]["idle_after"] = getattr(self.idle, key)
            if before is not None and after is not None:
                out[key]["growth_percent"] = growth_percent(before, after)
        return out

    def to_dict(self, warmup_mark: int) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "gateway": asdict(self.gateway),
            "errors": self.errors,
            "summary": self.summary(warmup_mark),
            "samples": [asdict(s) for s in self.samples],
            "idle_after": asdict(self.idle),
        }


class _Sampler:
    """Takes a sample of the gateway process and of the load since the previous sample."""

    def __init__(self, endpoint: Endpoint, recorders: list[Recorder], probe: Path, redis: Any):
        assert endpoint.process is not None
        self._process = endpoint.process
        self._recorders = recorders
        self._probe = probe
        self._redis = redis
        self._started = time.perf_counter()
        self._last = (self._started, 0, [0 for _ in recorders])

    def take(self) -> SoakSample:
        now = time.perf_counter()
        last_time, last_count, last_index = self._last
        json_recorder = self._recorders[0]
        window = json_recorder.latencies[last_index[0] :]
        count = sum(r.completed for r in self._recorders)
        latency = distribution_ms(window)
        pids = self._process.pids()
        self._last = (now, count, [r.completed for r in self._recorders])
        return SoakSample(
            elapsed_s=now - self._started,
            requests=count,
            errors=sum(r.error_count for r in self._recorders),
            rps=(count - last_count) / max(now - last_time, 1e-9),
            rss_mb=rss_bytes(pids) / MB,
            open_fds=open_fds(pids),
            asyncio_tasks=read_probe(self._probe),
            redis_used_mb=self._redis_mb(),
            p50_ms=latency.p50 if latency else None,
            p99_ms=latency.p99 if latency else None,
        )

    def _redis_mb(self) -> float | None:
        if self._redis is None:
            return None
        try:
            return float(self._redis.info("memory")["used_memory"]) / MB
        except Exception:  # a sample without Redis memory beats a soak that dies for it
            return None


def _redis_client(features: dict[str, str]) -> Any:
    url = features.get("REDIS_URL")
    if not url:
        return None
    import redis

    return redis.Redis.from_url(url, socket_timeout=1.0)


def _specs(endpoint: Endpoint, settings: SoakSettings) -> list[LoadSpec]:
    port = endpoint.ports[0.0]
    total = settings.json_callers + settings.stream_callers
    specs = []
    for stream, callers in ((False, settings.json_callers), (True, settings.stream_callers)):
        body = request_body(endpoint.models[0.0], stream)
        specs.append(
            LoadSpec(
                host="127.0.0.1",
                port=port,
                request=build_request("127.0.0.1", port, endpoint.path, body, endpoint.headers),
                stream=stream,
                concurrency=callers,
                max_requests=max(settings.max_requests * callers // total, 1),
                max_seconds=settings.max_seconds,
                timeout_s=30.0,
            )
        )
    return specs


async def drive(
    endpoint: Endpoint, settings: SoakSettings, probe: Path, on_sample: Any
) -> tuple[list[SoakSample], SoakSample, dict[str, int]]:
    """Run the load against a started gateway, sampling while it runs; then one more sample
    ``interval_s`` after the callers stopped (what is left when idle)."""
    specs = _specs(endpoint, settings)
    recorders = [Recorder() for _ in specs]
    sampler = _Sampler(endpoint, recorders, probe, _redis_client(settings.features))
    samples = [sampler.take()]
    tasks = [asyncio.ensure_future(run_load(s, r)) for s, r in zip(specs, recorders, strict=True)]
    while True:
        done, pending = await asyncio.wait(
            tasks, timeout=settings.interval_s, return_when=asyncio.FIRST_COMPLETED
        )
        if done:
            # Only samples under the full load count: when one group of callers reaches its
            # bound the others stop too, so the last sample is not of a thinner load.
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            break
        samples.append(sampler.take())
        on_sample(samples[-1])
    for task in done:
        task.result()
    await asyncio.sleep(settings.interval_s)
    idle = sampler.take()
    errors: dict[str, int] = {}
    for recorder in recorders:
        for kind, count in recorder.errors.items():
            errors[kind] = errors.get(kind, 0) + count
    return samples, idle, errors


def probe_command(probe: Path, interval_s: float) -> list[str]:
    import sys

    return [sys.executable, "-m", "llm_gateway.bench.probe", str(probe), str(interval_s), "serve"]


async def run_soak(settings: SoakSettings, workdir: Path, on_sample: Any) -> SoakResult:
    """Start a mock and the gateway (with the task probe), drive the soak, stop both."""
    pin_self(settings.load_core)
    sweep_like = SweepSettings(
        delays_ms=(0.0,),
        mock_command=settings.mock_command,
        server_core=settings.server_core,
        load_core=settings.load_core,
    )
    fleet = MockFleet(sweep_like, workdir)
    probe = workdir / "asyncio-tasks.json"
    command = probe_command(probe, min(settings.interval_s, 2.0))
    endpoint = gateway_endpoint(fleet.upstreams, workdir, settings.features, command)
    assert endpoint.process is not None
    try:
        await fleet.start()
        info = await start_target(endpoint, sweep_like)
        samples, idle, errors = await drive(endpoint, settings, probe, on_sample)
        info.rss_at_end_mb = samples[-1].rss_mb
        info.requests_total = idle.requests
    finally:
        endpoint.process.stop()
        fleet.stop()
    settings_out = {k: v for k, v in asdict(settings).items() if k != "features"}
    settings_out["features"] = settings.features
    return SoakResult(settings_out, info, samples, idle, errors)
