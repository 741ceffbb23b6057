"""The compose topology without containers: the migration job (``llm-gateway db upgrade``), then
three ``llm-gateway serve`` processes sharing the real Redis and a PostgreSQL database, with the
shipped nginx config in front — all on loopback.

:func:`run_topology` is the one way to start it; the ``topology`` fixture (conftest.py) uses it
with the defaults. A test that needs more (a budgets file, rate limits) passes ``env`` (added to
every replica's environment) and ``prepare_config`` (called with each replica's config
directory before it starts).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from tests.deploy.nginx_runner import Nginx, nginx_binary, start_nginx
from tests.http.test_serve_cli import SERVE, environment, free_port
from tests.shared_services import replica_settings

from llm_gateway.simulator.testing import SimulatorHandle

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"
ADMIN_TOKEN = "topology-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
REPLICA_NAMES = ("a", "b", "c")
START_TIMEOUT_S = 60.0


@dataclass
class Replica:
    name: str
    port: int
    config_dir: Path
    home: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log(self) -> str:
        return (self.home / "serve.log").read_text(errors="replace")


@dataclass
class Topology:
    """Three replicas and nginx. ``url`` is nginx's: what callers use."""

    replicas: list[Replica]
    nginx: Nginx
    simulator: SimulatorHandle

    @property
    def url(self) -> str:
        return self.nginx.url

    def replica_at(self, address: str) -> Replica:
        """The replica listening at ``host:port`` (as nginx logs its upstream)."""
        return next(r for r in self.replicas if r.address == address)


def wait_for(check: Callable[[], Any], seconds: float, what: str) -> None:
    """Poll ``check`` every 50 ms until it is true; AssertionError naming ``what`` after
    ``seconds``."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:g} s")
        time.sleep(0.05)


def migrate(home: Path, pg_url: str) -> None:
    """What the compose ``migrate`` job and the chart's hook run: ``llm-gateway db upgrade``."""
    home.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [*SERVE[:-1], "db", "upgrade"],
        cwd=home,
        env=environment(home, DATABASE_URL=pg_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _start_replica(name: str, root: Path, env: dict[str, str]) -> Replica:
    home = root / name
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with (home / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [*SERVE, "--port", str(port)],
            cwd=home,
            env=environment(home, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # stopped as a group, whatever it started
        )
    return Replica(name, port, Path(env["GATEWAY_CONFIG_DIR"]), home, process)


def _stop_replica(replica: Replica) -> None:
    replica.process.terminate()
    try:
        replica.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(replica.process.pid, signal.SIGKILL)
        replica.process.wait(timeout=10)


def _ready(replica: Replica) -> bool:
    if replica.process.poll() is not None:
        raise AssertionError(f"replica {replica.name} exited:\n{replica.log()}")
    try:
        return httpx.get(f"{replica.url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _replica_count(replica: Replica) -> int:
    listed = httpx.get(f"{replica.url}/api/admin/gateway/replicas", headers=AUTH, timeout=5)
    return int(listed.json()["count"])


@contextmanager
def run_topology(
    root: Path,
    *,
    simulator: SimulatorHandle,
    pg_url: str,
    redis_prefix: str,
    env: dict[str, str] | None = None,
    prepare_config: Callable[[Path], None] | None = None,
) -> Iterator[Topology]:
    """Migrate, start the three replicas (each with its own copy of config/, as each pod mounts
    the ConfigMap) and nginx; stop them all on exit."""
    binary = nginx_binary()
    assert binary is not None, "nginx is not installed (.ci/run installs nginx-light)"
    migrate(root / "migrate", pg_url)
    with ExitStack() as stack:
        replicas = []
        for name in REPLICA_NAMES:
            config_dir = root / f"config-{name}"
            shutil.copytree(REPO_CONFIG, config_dir, ignore=shutil.ignore_patterns("scenarios"))
            if prepare_config is not None:
                prepare_config(config_dir)
            values = replica_settings(
                home=root / name,
                config_dir=config_dir,
                upstream_url=simulator.base_url,
                pg_url=pg_url,
                redis_prefix=redis_prefix,
            )
            values.update(
                GATEWAY_ADMIN_TOKEN=ADMIN_TOKEN,
                GATEWAY_DB_AUTO_MIGRATE="false",  # the migration ran above, as in compose
                GATEWAY_TRUSTED_PROXIES="127.0.0.1",
                GATEWAY_SHUTDOWN_GRACE_S="2",
                **(env or {}),
            )
            replica = _start_replica(name, root, values)
            stack.callback(_stop_replica, replica)
            replicas.append(replica)
        for replica in replicas:
            wait_for(partial(_ready, replica), START_TIMEOUT_S, f"replica {replica.name} ready")
        wait_for(lambda: _replica_count(replicas[0]) == 3, 5.0, "three replicas listed")
        nginx = start_nginx(
            binary, root / "nginx", upstreams=[r.address for r in replicas], port=free_port()
        )
        stack.callback(nginx.stop)
        yield Topology(replicas=replicas, nginx=nginx, simulator=simulator)
