"""Every truncation of the shipped files is a clean configuration error, never a crash: the
loader is run on prefixes of each file (cut at every line end and at a spread of byte offsets),
and ``llm-gateway validate`` on a few of them prints ``file: ...: message`` lines and exits 1
without a traceback."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from llm_gateway.config.loader import NODES_FILE, POLICIES_FILE, load_catalog
from llm_gateway.errors import ConfigError

SHIPPED = Path(__file__).resolve().parents[2] / "config"


def cut_points(data: bytes, spread: int = 120) -> list[int]:
    line_ends = [i + 1 for i, byte in enumerate(data) if byte == ord("\n")]
    rng = random.Random(len(data))
    return sorted({0, 1, *line_ends, *rng.sample(range(len(data)), min(spread, len(data)))})


@pytest.mark.parametrize("name", [POLICIES_FILE, NODES_FILE])
def test_every_truncation_is_a_config_error_or_a_valid_config(tmp_path: Path, name: str) -> None:
    shutil.copytree(SHIPPED, tmp_path / "c")
    target = tmp_path / "c" / name
    data = (SHIPPED / name).read_bytes()
    outcomes = {"error": 0, "valid": 0}
    for cut in cut_points(data):
        target.write_bytes(data[:cut])
        try:
            load_catalog(tmp_path / "c")
        except ConfigError as exc:
            assert exc.issues, cut
            assert all(str(issue) for issue in exc.issues)
            outcomes["error"] += 1
        else:
            outcomes["valid"] += 1
    assert outcomes["error"] > 0


@pytest.mark.parametrize("cut", [0, 1, 97, 1500])
def test_validate_on_a_truncated_file_never_shows_a_traceback(tmp_path: Path, cut: int) -> None:
    shutil.copytree(SHIPPED, tmp_path / "c")
    data = (SHIPPED / POLICIES_FILE).read_bytes()
    (tmp_path / "c" / POLICIES_FILE).write_bytes(data[:cut])
    done = subprocess.run(
        [sys.executable, "-c", "from llm_gateway.cli import app; app()", "validate"],
        env={"GATEWAY_CONFIG_DIR": str(tmp_path / "c"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stdout.startswith(POLICIES_FILE), done.stdout
