"""LiteLLM's proxy as a benchmark target, installed into its own virtual environment.

``litellm[proxy]==1.108.7`` (newer releases need a package the registry does not carry) goes into
``bench/.litellm-venv`` on first use, with pip's output shown. It runs offline and quiet: the
local model-cost map, telemetry off, one worker, a master key (it refuses to start without one),
and one ``openai/bench-model`` deployment per mock.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from llm_gateway.bench.errors import BenchError
from llm_gateway.bench.procs import ManagedProcess, free_port
from llm_gateway.bench.targets import UPSTREAM_KEY, Endpoint, Upstream, clean_env, model_name

LITELLM_REQUIREMENT = "litellm[proxy]==1.108.7"
MASTER_KEY = "sk-bench-master"


def venv_dir(repo_root: Path) -> Path:
    return repo_root / "bench" / ".litellm-venv"


def ensure_installed(repo_root: Path) -> Path:
    """The ``litellm`` executable, installing it first when missing (pip prints its progress).

    Raises BenchError when the install fails."""
    venv = venv_dir(repo_root)
    executable = venv / "bin" / "litellm"
    if executable.exists():
        return executable
    print(f"Installing {LITELLM_REQUIREMENT} into {venv} (first run only, a few minutes)...")
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv / "bin" / "pip"), "install", LITELLM_REQUIREMENT],
    ]
    for step in steps:
        if subprocess.run(step, check=False).returncode != 0:
            raise BenchError(f"installing LiteLLM failed at: {' '.join(step)}")
    if not executable.exists():
        raise BenchError(f"LiteLLM installed but {executable} is missing")
    return executable


def write_config(path: Path, upstreams: list[Upstream]) -> None:
    """A proxy config with one model per mock, named like the gateway's (``bench-d50``)."""
    lines = ["model_list:"]
    for u in upstreams:
        lines += [
            f"  - model_name: {model_name(u.delay_ms)}",
            "    litellm_params:",
            "      model: openai/bench-model",
            f"      api_base: {u.base_url}",
            f"      api_key: {UPSTREAM_KEY}",
        ]
    lines += ["litellm_settings:", "  set_verbose: false", "  json_logs: false"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def litellm_endpoint(upstreams: list[Upstream], workdir: Path, repo_root: Path) -> Endpoint:
    """LiteLLM's proxy (not started yet) in front of the mocks."""
    executable = ensure_installed(repo_root)
    config = workdir / "litellm-config.yaml"
    write_config(config, upstreams)
    port = free_port()
    env = clean_env(
        {
            "LITELLM_MASTER_KEY": MASTER_KEY,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_TELEMETRY_DISABLED": "true",
            "LITELLM_LOG": "ERROR",
        }
    )
    argv = [str(executable), "--config", str(config), "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--num_workers", "1"]
    return Endpoint(
        name="litellm",
        path="/v1/chat/completions",
        ports={u.delay_ms: port for u in upstreams},
        models={u.delay_ms: model_name(u.delay_ms) for u in upstreams},
        headers={"Authorization": f"Bearer {MASTER_KEY}"},
        process=ManagedProcess("litellm", argv, env, workdir / "litellm.log"),
        ready_path="/health/liveliness",
    )
