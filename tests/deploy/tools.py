"""The command-line tools the deployment tests run, found beside the running interpreter (the
virtual environment's bin/, where the dev extra installs them) or on PATH."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest


def tool(name: str, *, installed_by: str) -> str:
    """The path of ``name``; the test is skipped, naming what installs it, when it is missing."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed ({installed_by})")
    return found
