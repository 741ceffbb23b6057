"""deploy/nginx/nginx.conf run by the test: Debian's nginx as the test's own user, on a loopback
port, with its own prefix directory, pid file, logs and temporary paths.

The shipped file is used as it is but for what only a container has: the upstream servers
(``gateway-N:8000``), the listen address, the access log (a file, read by the tests) and the
runtime paths. Each rewrite checks that the line it replaces is there, so a change to the shipped
file that the test no longer understands fails loudly instead of testing something else.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

SHIPPED_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "nginx.conf"
UPSTREAM_SERVERS = re.compile(r"^(\s*)server gateway-\d+:8000;\n", re.MULTILINE)
START_TIMEOUT_S = 10.0


def nginx_binary() -> str | None:
    """Debian's nginx (``/usr/sbin`` is not on every user's PATH), or None."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def _replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise AssertionError(f"{SHIPPED_CONF}: expected exactly one {old!r}")
    return text.replace(old, new)


def loopback_config(template: str, *, upstreams: list[str], port: int, prefix: Path) -> str:
    """``template`` (the shipped nginx.conf) rewritten to run under ``prefix`` on
    127.0.0.1:``port`` in front of ``upstreams`` (``host:port`` each)."""
    servers = UPSTREAM_SERVERS.findall(template)
    if len(servers) != 3:
        raise AssertionError(f"{SHIPPED_CONF}: expected three `server gateway-N:8000;` lines")
    indent = servers[0]
    listed = "".join(f"{indent}server {address};\n" for address in upstreams)
    text = UPSTREAM_SERVERS.sub("", template, count=2)
    text = UPSTREAM_SERVERS.sub(listed, text, count=1)
    text = _replace_once(text, "listen 8080;", f"listen 127.0.0.1:{port};")
    text = _replace_once(
        text, "access_log /dev/stdout gateway;", f"access_log {prefix}/access.log gateway;"
    )
    text = _replace_once(text, "worker_processes auto;", "worker_processes 1;")
    temp_paths = "".join(
        f"    {kind}_temp_path {prefix}/tmp/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = _replace_once(text, "http {\n", "http {\n" + temp_paths)
    # As root, nginx's workers would switch to `nobody`: keep them as the test's user.
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    return f"{user}pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n{text}"


@dataclass
class Nginx:
    """A running nginx; ``url`` is its loopback address."""

    prefix: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    def access_entries(self) -> list[dict[str, str]]:
        """The access log's lines as ``{"rid", "upstream", "status", "request"}``."""
        entries = []
        pattern = re.compile(
            r'"(?P<request>[^"]*)" (?P<status>\d+) .* rid=(?P<rid>\S*) '
            r"upstream=(?P<upstream>\S*)"
        )
        for line in self.access_log.read_text().splitlines():
            match = pattern.search(line)
            if match:
                entries.append(match.groupdict())
        return entries

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def check_config(binary: str, prefix: Path, conf: Path) -> None:
    """``nginx -t`` on ``conf``; AssertionError with nginx's words when it is refused."""
    result = subprocess.run(
        [binary, "-t", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if result.returncode != 0:
        raise AssertionError(f"nginx -t refused {conf}:\n{result.stderr}")


def start_nginx(binary: str, prefix: Path, *, upstreams: list[str], port: int) -> Nginx:
    """Write the loopback config under ``prefix``, check it, start nginx in the foreground and
    wait until it answers. The caller stops it (:meth:`Nginx.stop`)."""
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / kind).mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(
        loopback_config(SHIPPED_CONF.read_text(), upstreams=upstreams, port=port, prefix=prefix)
    )
    check_config(binary, prefix, conf)
    arguments = ["-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    process = subprocess.Popen(
        [binary, *arguments, "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    nginx = Nginx(prefix=prefix, port=port, process=process)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if httpx.get(f"{nginx.url}/nginx-healthz", timeout=1).status_code == 200:
                return nginx
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            nginx.stop()
            log = (prefix / "error.log").read_text() if (prefix / "error.log").exists() else ""
            raise AssertionError(f"nginx did not start:\n{log}")
        time.sleep(0.05)
