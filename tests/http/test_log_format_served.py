"""Logs as an operator reads them: ``GATEWAY_LOG_FORMAT=json`` makes every line of
``llm-gateway serve`` one JSON object; a line written for a request carries its trace id; an
admin change is logged once at INFO (and nothing per request)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
from tests.http.test_serve_cli import SERVE, environment, free_port, wait_until_serving

TOKEN = "log-format-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _run(tmp_path: Path, fmt: str) -> tuple[list[str], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = environment(
        tmp_path,
        GATEWAY_LOG_FORMAT=fmt,
        GATEWAY_LOG_LEVEL="INFO",
        GATEWAY_ADMIN_TOKEN=TOKEN,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/{fmt}.sqlite3",
    )
    with subprocess.Popen(
        [*SERVE, "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            wait_until_serving(url)
            for _ in range(5):
                body = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
                assert httpx.post(f"{url}/v1/chat/completions", json=body).status_code == 200
            put = httpx.put(
                f"{url}/api/admin/gateway/policies/formatter",
                json={"model_id": "gpt-4o-mini", "mode": "override"},
                headers={**AUTH, "X-Trace-Id": "admin-change-trace-1"},
            )
            assert put.status_code == 200, put.text
            time.sleep(0.5)
        finally:
            process.terminate()
            _, stderr = process.communicate(timeout=30)
    return [line for line in stderr.splitlines() if line.strip()], stderr


def test_json_lines_with_the_trace_id_and_one_line_per_admin_change(tmp_path: Path) -> None:
    lines, _ = _run(tmp_path, "json")
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"ts", "level", "logger", "message"} <= set(r) for r in records)
    admin = [r for r in records if "override.set" in r["message"]]
    assert len(admin) == 1, admin
    assert admin[0]["level"] == "INFO"
    assert admin[0]["trace_id"] == "admin-change-trace-1"
    assert "applied by 1 of 1 replicas" in admin[0]["message"]
    served = [r for r in records if r["logger"] not in ("llm_gateway.serve",)]
    chat = [r for r in served if "chat/completions" in r["message"]]
    assert not chat, "nothing is logged per request by default"
    banner = [r for r in records if r["logger"] == "llm_gateway.serve"]
    assert any("serving on" in r["message"] for r in banner)


def test_text_lines_carry_the_trace_id(tmp_path: Path) -> None:
    lines, _ = _run(tmp_path, "text")
    admin = [line for line in lines if "override.set" in line]
    assert len(admin) == 1
    assert admin[0].endswith("trace_id=admin-change-trace-1")
