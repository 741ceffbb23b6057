"""``llm-gateway serve``: the HTTP service on uvicorn (uvloop, httptools, no access log).

Before starting it checks the environment, the config files and the client keys (and exits 1
naming every problem, never with a traceback), brings the record store's schema to the code's
(a SQLite file always; PostgreSQL only with ``GATEWAY_DB_AUTO_MIGRATE=true``, else it refuses,
naming ``llm-gateway db upgrade``; a database that cannot be reached is refused too, as its
schema cannot be checked), binds the listening socket (a busy port is an
error before anything is announced), makes up an admin token when none is configured (exported
to the workers through the environment, so they all share it) and only then prints what it
serves: the simulated provider when no provider key is set, the admin token and commands to
try, which work as pasted into a POSIX shell. On SIGTERM/SIGINT in-flight requests and
streams get ``GATEWAY_SHUTDOWN_GRACE_S`` seconds to finish before the gateway closes; the
process then exits 0.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import os
import signal
import socket
import sys
from typing import Any, NoReturn

import typer
import uvicorn
from rich.console import Console
from uvicorn.config import LOGGING_CONFIG
from uvicorn.main import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from llm_gateway import __version__
from llm_gateway.auth import ClientKeys, generate_admin_token
from llm_gateway.cli.app import app
from llm_gateway.cli.config_cmds import ConfigDirOption
from llm_gateway.config import validate_config_dir
from llm_gateway.errors import ConfigError
from llm_gateway.http_protocol import GatewayHttpProtocol
from llm_gateway.settings import Settings, get_settings, reset_settings_cache
from llm_gateway.storage.engine import StorageError, describe, parse_url
from llm_gateway.storage.migrate import prepare_schema

APP_FACTORY = "llm_gateway.app:create_app_from_env"


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Interface to bind (default: GATEWAY_HOST)"),
    port: int | None = typer.Option(None, help="Port (default: GATEWAY_PORT)"),
    workers: int | None = typer.Option(
        None, min=1, max=64, help="Worker processes (default: GATEWAY_WORKERS)"
    ),
    config_dir: ConfigDirOption = None,
) -> None:
    """Serve the gateway: OpenAI-compatible API, node-aware chat and the admin API."""
    console = Console(stderr=True, highlight=False)
    if config_dir is not None:  # through the environment, so every worker reads the same
        os.environ["GATEWAY_CONFIG_DIR"] = str(config_dir)
        reset_settings_cache()
    settings = _settings_or_exit(console)
    if settings.GATEWAY_LOG_FORMAT == "json":
        from llm_gateway.log_format import JsonLinesConsole

        console = JsonLinesConsole()
    _check_config(settings, console)
    schema = _prepare_record_store_or_exit(console, settings)
    bind_host = host or settings.GATEWAY_HOST
    bind_port = port or settings.GATEWAY_PORT
    worker_count = workers or settings.GATEWAY_WORKERS
    if worker_count > 1 and settings.REDIS_URL is None:
        console.print(
            f"[bold red]error[/]: {worker_count} workers are {worker_count} replicas, and "
            "replicas share overrides, reloads and circuits through Redis: set REDIS_URL "
            "(e.g. redis://127.0.0.1:6379/0), or serve one worker",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    listener = _bind_or_exit(console, bind_host, bind_port)
    token_generated = settings.GATEWAY_ADMIN_TOKEN is None
    if token_generated:
        os.environ["GATEWAY_ADMIN_TOKEN"] = generate_admin_token()
        reset_settings_cache()
        settings = get_settings()
    print_banner(
        console, settings, bind_host, bind_port, worker_count, token_generated, schema=schema
    )
    level = settings.GATEWAY_LOG_LEVEL.lower()
    signal.signal(signal.SIGTERM, _stopped_on_request)
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=worker_count,
        loop="uvloop",
        http=GatewayHttpProtocol,
        proxy_headers=bool(settings.GATEWAY_TRUSTED_PROXIES.strip()),
        forwarded_allow_ips=settings.GATEWAY_TRUSTED_PROXIES.strip() or None,
        lifespan="on",
        access_log=False,
        log_level=level,
        log_config=logging_config(settings.GATEWAY_LOG_LEVEL, settings.GATEWAY_LOG_FORMAT),
        timeout_graceful_shutdown=settings.GATEWAY_SHUTDOWN_GRACE_S,  # type: ignore[arg-type]
    )
    _run(config, listener)


def _run(config: uvicorn.Config, listener: socket.socket) -> None:
    """What ``uvicorn.run`` does, on the socket bound before the banner."""
    server = uvicorn.Server(config=config)
    with contextlib.suppress(KeyboardInterrupt):
        if config.workers > 1:
            Multiprocess(config, sockets=[listener]).run()
        else:
            server.run(sockets=[listener])
    if config.workers == 1 and not server.started:
        raise typer.Exit(STARTUP_FAILURE)


def _stopped_on_request(signum: int, frame: Any) -> None:
    # uvicorn stops gracefully on SIGTERM, then puts back the handler it found and raises the
    # signal again: with the default disposition a clean stop would end as "killed by SIGTERM"
    # (exit 143, reported as an error by docker and kubernetes). This handler makes it exit 0.
    raise SystemExit(0)


def _settings_or_exit(console: Console) -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        _fail(console, [str(issue) for issue in exc.issues])


def _prepare_record_store_or_exit(console: Console, settings: Settings) -> str | None:
    """The schema revision of the record store at DATABASE_URL, migrated when allowed (None:
    no store configured); exit 1 when it is behind and may not be migrated, or unreachable."""
    url = settings.database_url
    if url is None:
        return None
    try:
        return prepare_schema(
            url,
            auto_migrate=settings.GATEWAY_DB_AUTO_MIGRATE,
            announce=lambda line: console.print(line, markup=False, soft_wrap=True),
        )
    except StorageError as exc:
        _fail(console, [f"record store: {exc}"])


def _bind_or_exit(console: Console, host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is announced; exit 1 when it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        why = "the port is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        _fail(console, [f"cannot listen on {host}:{port}: {why}"])
    sock.set_inheritable(True)
    return sock


def _fail(console: Console, issues: list[str]) -> NoReturn:
    console.print(f"[bold red]cannot start: {len(issues)} problem(s)[/]")
    for issue in issues:
        console.print(f"  - {issue}", markup=False, soft_wrap=True)
    raise typer.Exit(1)


def _check_config(settings: Settings, console: Console) -> None:
    issues = [str(issue) for issue in validate_config_dir(settings.config_dir)]
    try:
        ClientKeys.from_settings(settings)
    except ConfigError as exc:
        issues += [str(issue) for issue in exc.issues]
    if not issues:
        issues = _provider_problems(settings)
    if issues:
        _fail(console, issues)


def _provider_problems(settings: Settings) -> list[str]:
    """In production: every provider key present and no simulator. Elsewhere, nothing (a
    missing key is shown in the banner, readiness and health)."""
    if settings.GATEWAY_ENV != "production":
        return []
    if settings.use_simulator:
        return ["environment: GATEWAY_SIMULATE=true is not allowed with GATEWAY_ENV=production"]
    return [f"environment: {problem}" for problem in _missing_keys(settings)]


def _missing_keys(settings: Settings) -> list[str]:
    from llm_gateway.config.loader import load_catalog
    from llm_gateway.providers.registry import ProviderRegistry

    catalog = load_catalog(settings.config_dir)
    used = {policy.provider for policy in catalog.policies.values()}
    return ProviderRegistry(catalog, settings).missing_keys(used)


def print_banner(
    console: Console,
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    token_generated: bool,
    *,
    schema: str | None = None,
) -> None:
    """What is served, how to authenticate, and commands to try."""
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    assert settings.GATEWAY_ADMIN_TOKEN is not None
    token = settings.GATEWAY_ADMIN_TOKEN.get_secret_value()
    out = console.print
    out(f"[bold]llm-gateway {__version__}[/] serving on {url} ({workers} worker(s))")
    if settings.use_simulator:
        out(
            "[bold yellow]SIMULATED provider[/] (GATEWAY_SIMULATE=true): answers are generated "
            "locally and nothing is billed. Set OPENROUTER_API_KEY (and unset GATEWAY_SIMULATE) "
            "for real models."
        )
    where, source = settings.config_location
    out(f"config: {where} ({source})", markup=False, soft_wrap=True)
    out(_record_store_line(settings, schema), markup=False, soft_wrap=True)
    for problem in [] if settings.use_simulator else _missing_keys(settings):
        out(f"[bold red]no provider key[/]: {problem}; requests to it fail", soft_wrap=True)
    if token_generated:
        out("admin token (generated for this run); to use the commands below, run:")
        out(f"  export GATEWAY_ADMIN_TOKEN={token}", markup=False, soft_wrap=True)
    else:
        out("admin token: from GATEWAY_ADMIN_TOKEN (not shown)")
    if workers > 1:
        out(f"{workers} workers share their state through Redis (REDIS_URL)")
    key = "<your API key>" if _keys_configured(settings) else "anything"
    out("try:", markup=False)
    for line in (
        f"  curl {url}/v1/chat/completions -H 'Content-Type: application/json' "
        f"-H 'Authorization: Bearer {key}' "
        '-d \'{"model": "auto", "messages": [{"role": "user", "content": "Hello"}]}\'',
        # Double quotes: the shell expands the variable the line above exported.
        f'  curl {url}/api/admin/gateway/health -H "Authorization: Bearer $GATEWAY_ADMIN_TOKEN"',
        f"  python -c \"import openai; c = openai.OpenAI(base_url='{url}/v1', api_key='{key}'); "
        "print(c.chat.completions.create(model='writer', messages=[{'role': 'user', "
        "'content': 'Hello'}]).choices[0].message.content)\"",
        f"  admin dashboard: {url}/admin (sign in with the admin token)",
        f"  API docs: {url}/docs",
    ):
        out(line, markup=False, soft_wrap=True)
    sys.stderr.flush()


def _record_store_line(settings: Settings, schema: str | None) -> str:
    url = settings.database_url
    if url is None:
        return "record store: none (DATABASE_URL is empty): ledger and traces in memory only"
    try:
        shown = describe(parse_url(url))
    except StorageError:
        shown = "(invalid DATABASE_URL)"
    return f"record store: {shown}" + (f" (schema {schema})" if schema else "")


def logging_config(level: str, fmt: str = "text") -> dict[str, Any]:
    """uvicorn's logging config plus the ``llm_gateway`` loggers at ``level`` (every worker),
    as text or JSON lines carrying the request's trace id."""
    from llm_gateway.log_format import logging_config as with_context

    return with_context(copy.deepcopy(LOGGING_CONFIG), level, fmt)


def _keys_configured(settings: Settings) -> bool:
    return settings.GATEWAY_API_KEYS is not None or settings.GATEWAY_API_KEYS_FILE is not None
