"""A regular (non-editable) install carries its default config: the wheel is built, installed
into a folder of its own and run from a directory with no ``config/`` and no
``GATEWAY_CONFIG_DIR``; ``validate`` then reads the packaged defaults. ``./config`` and
``GATEWAY_CONFIG_DIR`` come first, in that order."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from llm_gateway.config.location import resolve_config_dir

REPO = Path(__file__).resolve().parents[2]


def test_the_wheel_ships_the_default_config_and_validate_finds_it(tmp_path: Path) -> None:
    wheels, target, cwd = tmp_path / "wheels", tmp_path / "site", tmp_path / "elsewhere"
    cwd.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", wheels, REPO], check=True, timeout=300)
    wheel = next(wheels.glob("llm_gateway-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", target, wheel], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    # -S: without site processing the editable install of this checkout is not on the path;
    # the wheel's copy comes first, then the dependencies of this environment.
    env["PYTHONPATH"] = os.pathsep.join([str(target), sysconfig.get_paths()["purelib"]])
    cli = [sys.executable, "-S", "-c", "from llm_gateway.cli import app; app()"]
    done = subprocess.run(
        [*cli, "validate"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    where = subprocess.run(
        [
            sys.executable,
            "-S",
            "-c",
            "from llm_gateway.settings import load_settings as s; print(*s().config_location)",
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.stdout.strip().endswith("packaged defaults"), where.stdout + where.stderr
    assert str(target) in where.stdout


def test_the_order_is_the_variable_then_dot_config_then_the_package(tmp_path: Path) -> None:
    explicit = tmp_path / "mine"
    assert resolve_config_dir(explicit, cwd=tmp_path) == (explicit, "GATEWAY_CONFIG_DIR")
    shutil.copytree(REPO / "config", tmp_path / "config")
    assert resolve_config_dir(None, cwd=tmp_path) == (tmp_path / "config", "./config")
    empty = tmp_path / "empty"
    empty.mkdir()
    directory, source = resolve_config_dir(None, cwd=empty)
    assert source in {"packaged defaults", "source checkout"}
    assert (directory / "model_policies.yaml").is_file()
