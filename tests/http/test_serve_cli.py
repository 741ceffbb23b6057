"""``llm-gateway serve`` as a process: banner, generated admin token, serving, SIGTERM."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console
from tests.http.conftest import make_settings

from llm_gateway.cli.serve import print_banner

SERVE = [sys.executable, "-c", "from llm_gateway.cli import app; app()", "serve"]
START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "OPENROUTER_"))}
    env.update(
        GATEWAY_AUDIT_LOG_FILE=str(tmp_path / "audit.jsonl"),
        GATEWAY_SHUTDOWN_GRACE_S="2",
        GATEWAY_LOG_LEVEL="WARNING",
        GATEWAY_SIMULATE="true",  # what `make run` sets when no key is set
        COLUMNS="200",
    )
    env.update(extra)
    return env


def start(tmp_path: Path, port: int, **env: str) -> subprocess.Popen[str]:
    """The server process; use it as a context manager so its pipe is closed."""
    return subprocess.Popen(
        [*SERVE, "--port", str(port)],
        cwd=tmp_path,
        env=environment(tmp_path, **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_banner(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        if "API docs:" in line:
            break
    return "".join(lines)


def wait_until_serving(url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not become ready")


def test_serve_with_the_embedded_defaults(tmp_path: Path) -> None:
    port = free_port()
    with start(tmp_path, port) as process:
        code = exercise(process, port)
    assert code == 0  # a graceful stop is not "killed by SIGTERM" (exit 143)


def test_sigterm_lets_a_stream_finish_refuses_new_connections_and_exits_0(
    tmp_path: Path,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    body = {
        "model": "auto",
        "messages": [{"role": "user", "content": "Tell me a long story"}],
        "stream": True,
        "max_tokens": 60,  # about a second at the simulated provider's pace
    }
    with start(tmp_path, port) as process:
        try:
            read_banner(process)
            wait_until_serving(url)
            with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=10) as r:
                lines = r.iter_lines()
                first = next(line for line in lines if line.startswith("data: "))
                process.send_signal(signal.SIGTERM)
                refused = wait_until_refused(url)
                rest = [line for line in lines if line]
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=15)
    assert first.startswith("data: {")
    assert refused, "a new connection was still accepted while shutting down"
    assert rest[-1] == "data: [DONE]", "the in-flight stream was cut by the shutdown"
    assert code == 0


def wait_until_refused(url: str) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/healthz", timeout=1)
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError):
            # Refused, or (a connection that reached the backlog as the server stopped
            # listening) closed or reset unserved: either way nothing new is served.
            return True
        time.sleep(0.02)
    return False


def exercise(process: subprocess.Popen[str], port: int) -> int:
    try:
        banner = read_banner(process)
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url)
        token = re.search(r"^  export GATEWAY_ADMIN_TOKEN=(\S+)$", banner, re.MULTILINE)
        assert token is not None, banner
        assert pasted_commands_work(banner), banner
        assert "SIMULATED provider" in banner
        assert f"{url}/v1/chat/completions" in banner

        answer = httpx.post(
            f"{url}/v1/chat/completions",
            json={"model": "auto", "messages": [{"role": "user", "content": "Hello"}]},
            timeout=10,
        )
        admin = httpx.get(
            f"{url}/api/admin/gateway/health",
            headers={"Authorization": f"Bearer {token.group(1)}"},
            timeout=10,
        )
        assert answer.status_code == 200
        assert answer.json()["choices"][0]["message"]["content"]
        assert admin.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
    return code


def pasted_commands_work(banner: str) -> bool:
    """The banner's export line and admin curl command, pasted into a shell as they are."""
    lines = [line.strip() for line in banner.splitlines()]
    export = next(line for line in lines if line.startswith("export GATEWAY_ADMIN_TOKEN="))
    curl = next(line for line in lines if line.startswith("curl") and "/api/admin/" in line)
    env = {k: v for k, v in os.environ.items() if k != "GATEWAY_ADMIN_TOKEN"}
    script = f"{export}\n{curl} --silent --output /dev/null --write-out '%{{http_code}}'"
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    return done.stdout == "200"


def test_a_bad_environment_variable_is_one_clean_line_not_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [*SERVE],
        cwd=tmp_path,
        env=environment(tmp_path, GATEWAY_PORT="not-a-port"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "GATEWAY_PORT" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 2, result.stderr


def test_a_busy_port_fails_before_any_banner_or_token(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*SERVE, "--port", str(port)],
            cwd=tmp_path,
            env=environment(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "already in use" in result.stderr
    assert "serving on" not in result.stderr
    assert "GATEWAY_ADMIN_TOKEN=" not in result.stderr, "no token made up for a server that fails"
    assert "Traceback" not in result.stderr


def test_version_and_help_screens() -> None:
    cli = [sys.executable, "-c", "from llm_gateway.cli import app; app()"]
    version = subprocess.run([*cli, "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0
    assert re.fullmatch(r"llm-gateway \d+\.\d+\.\d+\S*\n", version.stdout)
    for command in ("serve", "validate", "select", "models", "simulate", "bench"):
        shown = subprocess.run(
            [*cli, command, "--help"], capture_output=True, text=True, timeout=60
        )
        assert shown.returncode == 0, shown.stderr
        assert "<bool>" not in shown.stdout, f"{command} --help:\n{shown.stdout}"


def test_configured_admin_token_is_not_printed(tmp_path: Path) -> None:
    secret = "my-configured-admin-token-0123456789"
    settings = make_settings(
        tmp_path, GATEWAY_ADMIN_TOKEN=secret, GATEWAY_API_KEYS="k:sk-0123456789"
    )
    out = io.StringIO()

    print_banner(Console(file=out, width=200), settings, "0.0.0.0", 9000, 2, token_generated=False)

    banner = out.getvalue()
    assert "from GATEWAY_ADMIN_TOKEN" in banner
    assert secret not in banner
    assert secret[:4] not in banner, "not even a prefix of the token"
    assert "http://127.0.0.1:9000/v1/chat/completions" in banner
    assert "<your API key>" in banner
    assert "SIMULATED provider" in banner
    assert "share their state through Redis" in banner


def test_invalid_config_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / "model_policies.yaml").write_text("policies:\n  broken: {provider: 3}\n")
    result = subprocess.run(
        [*SERVE, "--port", str(free_port())],
        cwd=tmp_path,
        env=environment(tmp_path, GATEWAY_CONFIG_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "cannot start" in result.stderr
    assert "model_policies.yaml" in result.stderr
