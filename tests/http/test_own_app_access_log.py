"""docs/migration.md Phase 4.2: the routers and the middleware mounted in the application's own
FastAPI app, served by ``uvicorn main:app`` with its access log on. The gateway's log redaction
(a log-record factory, installed with the first gateway) must leave uvicorn's access records
formattable: uvicorn's ``AccessFormatter`` unpacks the record's five ``args``.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from uvicorn.logging import AccessFormatter

from llm_gateway.redaction import MASK, install_log_redaction, register_secret

MAIN_PY = """\
from fastapi import FastAPI

app = FastAPI()

# main.py
from llm_gateway.middleware.gateway_middleware import GatewayMiddleware
from llm_gateway.routes.admin_gateway import admin_gateway_router
from llm_gateway.routes.chat_gateway import chat_gateway_router

app.include_router(admin_gateway_router)
app.include_router(chat_gateway_router)
app.add_middleware(GatewayMiddleware)
"""
TOKEN = "own-app-admin-token-5b1e0c94d2"
ACCESS_SECRET = "sk-or-access-log-7f3a9c21e8d4"


def _access_record(path: str) -> logging.LogRecord:
    """A record as uvicorn's access logger makes it (through the process's record factory)."""
    logger = logging.getLogger("uvicorn.access")
    return logger.makeRecord(
        logger.name,
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )


def test_access_records_keep_their_args_and_format() -> None:
    install_log_redaction()
    register_secret(ACCESS_SECRET)
    formatter = AccessFormatter('%(client_addr)s "%(request_line)s" %(status_code)s')

    plain = _access_record("/api/admin/gateway/health")
    assert isinstance(plain.args, tuple) and len(plain.args) == 5
    line = formatter.format(plain)
    assert line == '127.0.0.1:5000 "GET /api/admin/gateway/health HTTP/1.1" 200 OK'

    # a secret in an argument is masked there, and the record still formats
    leaky = _access_record(f"/callback?key={ACCESS_SECRET}")
    assert isinstance(leaky.args, tuple) and len(leaky.args) == 5
    line = formatter.format(leaky)
    assert ACCESS_SECRET not in line and f"/callback?key={MASK}" in line


def test_a_record_whose_args_cannot_be_kept_is_flattened_masked() -> None:
    install_log_redaction()
    register_secret(ACCESS_SECRET)
    logger = logging.getLogger("llm_gateway.test")
    mapping = logger.makeRecord(
        logger.name, logging.INFO, __file__, 1, "key %(key)s", ({"key": ACCESS_SECRET},), None
    )
    assert mapping.args is None and mapping.getMessage() == f"key {MASK}"
    plain = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "%d ok", (3,), None)
    assert plain.args == (3,) and plain.getMessage() == "3 ok"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_guides_main_py_under_uvicorn_logs_its_requests(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(MAIN_PY, encoding="utf-8")
    port = _free_port()
    env = {
        **os.environ,
        "GATEWAY_SIMULATE": "true",
        "GATEWAY_ADMIN_TOKEN": TOKEN,
        "DATABASE_URL": "",
        "GATEWAY_AUDIT_LOG_FILE": str(tmp_path / "audit.jsonl"),
    }
    env.pop("GATEWAY_URL", None)
    env.pop("GATEWAY_CONFIG_DIR", None)
    command = [sys.executable, "-m", "uvicorn", "main:app", "--host", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(
                    f"{base}/api/admin/gateway/health",
                    headers={"Authorization": f"Bearer {TOKEN}"},
                    timeout=5,
                )
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.2)
        assert health.status_code == 200, health.text
        chat = httpx.post(
            f"{base}/api/chat/writer",
            json={"messages": [{"role": "user", "content": "Hi"}]},
            timeout=30,
        )
        assert chat.status_code == 200, chat.text
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "Logging error" not in output, output
    assert '"GET /api/admin/gateway/health HTTP/1.1" 200' in output, output
    assert '"POST /api/chat/writer HTTP/1.1" 200' in output, output
    assert TOKEN not in output
