"""``llm-gateway serve --workers 2`` is two replicas: without REDIS_URL it refuses to start;
with it, an admin change made through one worker governs every request, whichever worker
takes it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
from tests.http.test_serve_cli import SERVE, environment, free_port
from tests.state.conftest import REDIS_URL

TOKEN = "workers-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_two_workers_without_redis_refuse_to_start(tmp_path: Path) -> None:
    port = free_port()
    result = subprocess.run(
        [*SERVE, "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "set REDIS_URL" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "serving on" not in result.stdout


def test_two_workers_share_an_override(tmp_path: Path, redis_prefix: str) -> None:
    port = free_port()
    env = environment(
        tmp_path,
        REDIS_URL=REDIS_URL,
        GATEWAY_REDIS_PREFIX=redis_prefix,
        GATEWAY_ADMIN_TOKEN=TOKEN,
        GATEWAY_HEARTBEAT_S="0.2",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/workers.sqlite3",
        GATEWAY_LEDGER_SPOOL_DIR=str(tmp_path / "spool"),
    )
    process = subprocess.Popen(
        [*SERVE, "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its workers too can be stopped as a group
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                listed = httpx.get(f"{base}/api/admin/gateway/replicas", headers=AUTH, timeout=2)
                if listed.status_code == 200 and listed.json()["count"] == 2:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "two workers did not come up"
            time.sleep(0.2)
        assert len({r["pid"] for r in listed.json()["replicas"]}) == 2
        put = httpx.put(
            f"{base}/api/admin/gateway/policies/formatter",
            json={"model_id": "gpt-4o-mini", "mode": "override"},
            headers=AUTH,
            timeout=10,
        )
        assert put.json()["applied_by"] == 2, put.text
        models = set()
        for _ in range(20):
            with httpx.Client(timeout=30) as fresh:  # a new connection: any worker may take it
                answer = fresh.post(
                    f"{base}/v1/chat/completions",
                    json={"model": "formatter", "messages": [{"role": "user", "content": "hi"}]},
                )
            models.add(answer.headers["x-gateway-model"])
        assert models == {"gpt-4o-mini"}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the parent and any worker left
            process.wait(timeout=10)
