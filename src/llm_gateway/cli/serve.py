"""``llm-gateway serve``: the HTTP service on uvicorn (uvloop, httptools, no access log).

Before starting it checks the config files and the client keys (and exits 1 naming every
problem), makes up an admin token when none is configured (exported to the workers through the
environment, so they all share it) and prints what it serves: the simulated provider when no
provider key is set, the admin token and URLs to try. On SIGTERM/SIGINT in-flight requests and
streams get ``GATEWAY_SHUTDOWN_GRACE_S`` seconds to finish before the gateway closes; the
process then exits 0.
"""

from __future__ import annotations

import copy
import os
import signal
import sys
from typing import Any

import typer
import uvicorn
from rich.console import Console
from uvicorn.config import LOGGING_CONFIG

from llm_gateway import __version__
from llm_gateway.auth import ClientKeys, generate_admin_token
from llm_gateway.cli.app import app
from llm_gateway.config import validate_config_dir
from llm_gateway.errors import ConfigError
from llm_gateway.http_protocol import GatewayHttpProtocol
from llm_gateway.settings import Settings, get_settings, reset_settings_cache

APP_FACTORY = "llm_gateway.app:create_app_from_env"


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Interface to bind (default: GATEWAY_HOST)"),
    port: int | None = typer.Option(None, help="Port (default: GATEWAY_PORT)"),
    workers: int | None = typer.Option(
        None, min=1, max=64, help="Worker processes (default: GATEWAY_WORKERS)"
    ),
) -> None:
    """Serve the gateway: OpenAI-compatible API, node-aware chat and the admin API."""
    console = Console(stderr=True, highlight=False)
    settings = get_settings()
    _check_config(settings, console)
    token_generated = settings.GATEWAY_ADMIN_TOKEN is None
    if token_generated:
        os.environ["GATEWAY_ADMIN_TOKEN"] = generate_admin_token()
        reset_settings_cache()
        settings = get_settings()
    bind_host = host or settings.GATEWAY_HOST
    bind_port = port or settings.GATEWAY_PORT
    worker_count = workers or settings.GATEWAY_WORKERS
    print_banner(console, settings, bind_host, bind_port, worker_count, token_generated)
    level = settings.GATEWAY_LOG_LEVEL.lower()
    signal.signal(signal.SIGTERM, _stopped_on_request)
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=worker_count,
        loop="uvloop",
        http=GatewayHttpProtocol,
        lifespan="on",
        access_log=False,
        log_level=level,
        log_config=logging_config(settings.GATEWAY_LOG_LEVEL),
        timeout_graceful_shutdown=settings.GATEWAY_SHUTDOWN_GRACE_S,  # type: ignore[arg-type]
    )


def _stopped_on_request(signum: int, frame: Any) -> None:
    # uvicorn stops gracefully on SIGTERM, then puts back the handler it found and raises the
    # signal again: with the default disposition a clean stop would end as "killed by SIGTERM"
    # (exit 143, reported as an error by docker and kubernetes). This handler makes it exit 0.
    raise SystemExit(0)


def _check_config(settings: Settings, console: Console) -> None:
    issues = [str(issue) for issue in validate_config_dir(settings.config_dir)]
    try:
        ClientKeys.from_settings(settings)
    except ConfigError as exc:
        issues += [str(issue) for issue in exc.issues]
    if issues:
        console.print(f"[bold red]cannot start: {len(issues)} configuration problem(s)[/]")
        for issue in issues:
            console.print(f"  - {issue}", markup=False)
        raise typer.Exit(1)


def print_banner(
    console: Console,
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    token_generated: bool,
) -> None:
    """What is served, how to authenticate, and commands to try."""
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    assert settings.GATEWAY_ADMIN_TOKEN is not None
    token = settings.GATEWAY_ADMIN_TOKEN.get_secret_value()
    out = console.print
    out(f"[bold]llm-gateway {__version__}[/] serving on {url} ({workers} worker(s))")
    if settings.use_simulator:
        out(
            "[bold yellow]SIMULATED provider[/]: no OPENROUTER_API_KEY is set, so answers are "
            "generated locally and nothing is billed. Set OPENROUTER_API_KEY for real models."
        )
    if token_generated:
        out(f"admin token (generated for this run): [bold]{token}[/]", soft_wrap=True)
    else:
        out("admin token: from GATEWAY_ADMIN_TOKEN (not shown)")
    if workers > 1 and settings.REDIS_URL is None:
        out("[yellow]note[/]: without REDIS_URL each worker keeps its own overrides and state")
    key = "<your API key>" if _keys_configured(settings) else "anything"
    admin = token if token_generated else "$GATEWAY_ADMIN_TOKEN"
    out("try:", markup=False)
    for line in (
        f"  curl {url}/v1/chat/completions -H 'Content-Type: application/json' "
        f"-H 'Authorization: Bearer {key}' "
        '-d \'{"model": "auto", "messages": [{"role": "user", "content": "Hello"}]}\'',
        f"  curl {url}/api/admin/gateway/health -H 'Authorization: Bearer {admin}'",
        f"  python -c \"import openai; c = openai.OpenAI(base_url='{url}/v1', api_key='{key}'); "
        "print(c.chat.completions.create(model='writer', messages=[{'role': 'user', "
        "'content': 'Hello'}]).choices[0].message.content)\"",
        f"  API docs: {url}/docs",
    ):
        out(line, markup=False, soft_wrap=True)
    sys.stderr.flush()


def logging_config(level: str) -> dict[str, Any]:
    """uvicorn's logging config plus the ``llm_gateway`` loggers at ``level`` (every worker)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["llm_gateway"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def _keys_configured(settings: Settings) -> bool:
    return settings.GATEWAY_API_KEYS is not None or settings.GATEWAY_API_KEYS_FILE is not None
