"""Two ``llm-gateway serve`` processes sharing the real Redis enforce one rate limit together:
requests spread over both, the total admitted within a window never passes the limit (plus
what the bucket refilled meanwhile: GCRA refills continuously, R per minute), and no more than
the lease slack of capacity is left unused."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import yaml
from tests.http.test_serve_cli import SERVE, environment, free_port
from tests.shared_services import REDIS_URL

from llm_gateway.simulator.testing import SimulatorHandle

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"
TOKEN = "limits-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RPM = 60
REQUESTS = 2 * RPM


def _start(
    tmp_path: Path, name: str, config: Path, prefix: str, upstream: str
) -> tuple[subprocess.Popen[bytes], str]:
    home = tmp_path / name
    home.mkdir()
    port = free_port()
    env = environment(
        home,
        REDIS_URL=REDIS_URL,
        GATEWAY_REDIS_PREFIX=prefix,
        GATEWAY_ADMIN_TOKEN=TOKEN,
        GATEWAY_HEARTBEAT_S="0.2",
        GATEWAY_CONFIG_DIR=str(config),
        GATEWAY_RATE_LIMIT_WAIT_MS="0",
        DATABASE_URL="",
        GATEWAY_SIMULATE="false",
        OPENROUTER_API_KEY="sk-or-limits-replicas-0000",
        OPENROUTER_BASE_URL=upstream,
    )
    process = subprocess.Popen(
        [*SERVE, "--port", str(port)],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return process, f"http://127.0.0.1:{port}"


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
def two_replicas(
    tmp_path: Path, redis_prefix: str, simulator: SimulatorHandle
) -> Iterator[list[str]]:
    simulator.set_scenario({"zero_latency": True})
    config = tmp_path / "config"
    shutil.copytree(REPO_CONFIG, config, ignore=shutil.ignore_patterns("scenarios"))
    limits = {"limits": {"nodes": {"formatter": {"rpm": RPM}}}}
    (config / "limits.yaml").write_text(yaml.safe_dump(limits))
    with ExitStack() as stack:
        urls = []
        for name in ("a", "b"):
            process, url = _start(tmp_path, name, config, redis_prefix, simulator.base_url)
            stack.callback(_stop, process)
            urls.append(url)
        deadline = time.monotonic() + 60
        while not all(_replicas(url) == 2 for url in urls):
            assert time.monotonic() < deadline, "the two replicas did not come up"
            time.sleep(0.2)
        yield urls


def _replicas(url: str) -> int:
    try:
        answer = httpx.get(f"{url}/api/admin/gateway/replicas", headers=AUTH, timeout=2)
    except httpx.HTTPError:
        return 0
    return int(answer.json()["count"]) if answer.status_code == 200 else 0


def test_two_replicas_enforce_one_rpm_limit_together(two_replicas: list[str]) -> None:
    body = {"model": "formatter", "messages": [{"role": "user", "content": "hi"}]}

    def send(n: int) -> tuple[int, int]:
        url = two_replicas[n % 2]
        return n % 2, httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(send, range(REQUESTS)))
    elapsed = time.monotonic() - started
    admitted = [replica for replica, status in results if status == 200]
    refused = [replica for replica, status in results if status == 429]
    assert len(admitted) + len(refused) == REQUESTS, results
    refilled = int(elapsed * RPM / 60)
    print(
        f"admitted {len(admitted)} of {REQUESTS} in {elapsed:.2f} s "
        f"(limit {RPM}, refilled {refilled})"
    )
    assert len(admitted) <= RPM + refilled  # never more than the limit: no overshoot
    # leases left unused at the end (at most a slice per replica) are the only slack
    assert len(admitted) >= RPM - 2 * max(1, RPM // 20)
    assert set(admitted) == {0, 1}  # both replicas admitted some of it
