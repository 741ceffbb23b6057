"""What the load generator can be pointed at: the mock directly, the gateway, or LiteLLM.

Each target is started on the server core against the running mocks (one mock per upstream
delay) and described by an :class:`Endpoint`: where to send a cell's requests and which model
name to put in them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from llm_gateway.bench.procs import ManagedProcess, free_port

UPSTREAM_PATH = "/api/v1"
UPSTREAM_KEY = "sk-bench-upstream"
BASE_ENV_KEYS = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


@dataclass(frozen=True, slots=True)
class Upstream:
    """One running mock: its port and the delay before headers it was started with."""

    port: int
    delay_ms: float

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{UPSTREAM_PATH}"


@dataclass
class Endpoint:
    """Where a target listens and how to address each upstream through it."""

    name: str
    path: str
    ports: dict[float, int]
    models: dict[float, str]
    headers: dict[str, str] = field(default_factory=dict)
    process: ManagedProcess | None = None
    ready_path: str = "/"


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """A minimal environment plus ``extra``: no stray provider keys leak into a server."""
    env = {key: os.environ[key] for key in BASE_ENV_KEYS if key in os.environ}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def model_name(delay_ms: float) -> str:
    """The logical model that routes to the mock with this delay (``bench-d50``)."""
    return f"bench-d{delay_ms:g}"


def direct_endpoint(upstreams: list[Upstream]) -> Endpoint:
    """The mocks themselves: the baseline every added latency is measured against."""
    return Endpoint(
        name="direct",
        path=f"{UPSTREAM_PATH}/chat/completions",
        ports={u.delay_ms: u.port for u in upstreams},
        models={u.delay_ms: "bench-model" for u in upstreams},
    )


def mock_process(
    upstream: Upstream, chunks: int, chunk_delay_ms: float, template: str | None, logs: Path
) -> ManagedProcess:
    """The mock for one upstream: ours by default, or ``template`` formatted with
    ``{port} {headers_delay_ms} {chunk_delay_ms} {chunks}`` (e.g. the simulator's command)."""
    values = {
        "port": upstream.port,
        "headers_delay_ms": upstream.delay_ms,
        "chunk_delay_ms": chunk_delay_ms,
        "chunks": chunks,
    }
    if template:
        argv = template.format(**values).split()
    else:
        argv = [sys.executable, "-m", "llm_gateway.bench.mock_upstream"]
        argv += [f"--{key.replace('_', '-')}={value}" for key, value in values.items()]
    return ManagedProcess(
        f"mock d{upstream.delay_ms:g}", argv, clean_env({}), logs / f"mock-{upstream.port}.log"
    )


RATE_LIMITS_FEATURE = "BENCH_RATE_LIMITS"  # not an env var: limits written into the config
BENCH_RPM = 100_000_000
BENCH_TPM = 100_000_000_000


def gateway_config(
    directory: Path, upstreams: list[Upstream], *, rate_limits: bool = False
) -> None:
    """Write ``model_policies.yaml`` and ``node_requirements.yaml`` routing ``bench-dN`` to the
    mock with delay N through an OpenAI-compatible provider each. ``rate_limits``: every model,
    node and client key limited (rpm and tpm) far above what the bench sends, so every request
    goes through the limiter and none is refused."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["providers:"]
    for u in upstreams:
        lines += [
            f"  bench_d{u.delay_ms:g}:",
            "    kind: openai_compatible",
            f"    base_url: {u.base_url}",
            "    api_key_env: BENCH_UPSTREAM_KEY",
        ]
    lines.append("policies:")
    for u in upstreams:
        lines += [
            f"  {model_name(u.delay_ms)}:",
            f"    provider: bench_d{u.delay_ms:g}",
            "    provider_model_id: bench-model",
            "    capabilities: {streaming: true, function_calling: true}",
            "    cost_tier: LOW",
            "    context_window: 128000",
            "    input_cost_per_1k: 0.0001",
            "    output_cost_per_1k: 0.0002",
        ]
        if rate_limits:
            lines += [f"    rpm: {BENCH_RPM}", f"    tpm: {BENCH_TPM}"]
    (directory / "model_policies.yaml").write_text("\n".join(lines) + "\n")
    limits = directory / "limits.yaml"
    if rate_limits:
        every = f"{{rpm: {BENCH_RPM}, tpm: {BENCH_TPM}}}"
        limits.write_text(f'limits:\n  nodes:\n    "*": {every}\n  keys:\n    "*": {every}\n')
    else:
        limits.unlink(missing_ok=True)
    (directory / "node_requirements.yaml").write_text(
        "nodes:\n  default:\n    required_capabilities: []\n    max_cost_tier: HIGH\n"
    )


BUDGETS_FEATURE = "BENCH_BUDGETS"
# Caps no bench run reaches: each request reserves and settles on four counters (the gateway's
# hour, day and month, the default node's day).
GENEROUS_BUDGETS = """\
gateway: {hour: "100000", day: "100000", month: "100000"}
nodes:
  default: {day: "100000"}
"""


def gateway_endpoint(
    upstreams: list[Upstream], workdir: Path, features: Mapping[str, str], argv0: list[str]
) -> Endpoint:
    """The gateway, configured for the mocks; ``features`` are extra env (switches under test).

    ``argv0`` is the command that starts it before ``--host/--port`` (``llm-gateway serve`` or
    the soak's probing launcher)."""
    port = free_port()
    config_dir = workdir / "gateway-config"
    features = dict(features)
    rate_limits = features.pop(RATE_LIMITS_FEATURE, "") == "true"
    gateway_config(config_dir, upstreams, rate_limits=rate_limits)
    if features.get(BUDGETS_FEATURE) == "generous":
        (config_dir / "budgets.yaml").write_text(GENEROUS_BUDGETS)
    env = clean_env(
        {
            "GATEWAY_CONFIG_DIR": str(config_dir),
            "GATEWAY_ADMIN_TOKEN": "bench-admin-token",
            "GATEWAY_SIMULATE": "false",
            "GATEWAY_LOG_LEVEL": "WARNING",
            "BENCH_UPSTREAM_KEY": UPSTREAM_KEY,
            "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'gateway.sqlite3'}",
        }
    )
    env.update(features)
    argv = [*argv0, "--host", "127.0.0.1", "--port", str(port)]
    process = ManagedProcess("gateway", argv, env, workdir / "gateway.log")
    return Endpoint(
        name="gateway",
        path="/v1/chat/completions",
        ports={u.delay_ms: port for u in upstreams},
        models={u.delay_ms: model_name(u.delay_ms) for u in upstreams},
        process=process,
        ready_path="/healthz",
    )


def gateway_command() -> list[str]:
    """``llm-gateway serve`` from the running interpreter's environment."""
    return [str(Path(sys.executable).parent / "llm-gateway"), "serve"]
