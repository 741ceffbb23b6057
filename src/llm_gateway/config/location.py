"""Where the config files are read from, in order: ``GATEWAY_CONFIG_DIR`` (or ``CONFIG_DIR``),
then ``./config`` in the working directory, then the defaults shipped inside the package (a
wheel or ``pip install .`` has no repository beside it), then a source checkout's ``config/``
(an editable install run from elsewhere).

:func:`resolve_config_dir` returns the directory and which of these it is, so start-up can say
which configuration it serves.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

POLICIES_FILE = "model_policies.yaml"
PACKAGED_DIR_NAME = "default_config"  # the wheel's copy of config/ (pyproject force-include)


def resolve_config_dir(explicit: Path | None, cwd: Path | None = None) -> tuple[Path, str]:
    """``(directory, source)``; ``source`` is ``GATEWAY_CONFIG_DIR``, ``./config``,
    ``packaged defaults`` or ``source checkout``. An explicit directory is used as it is (a
    missing one is reported when it is loaded, never silently replaced)."""
    if explicit is not None:
        return explicit, "GATEWAY_CONFIG_DIR"
    local = (cwd or Path.cwd()) / "config"
    if (local / POLICIES_FILE).is_file():
        return local, "./config"
    packaged = Path(str(files("llm_gateway") / PACKAGED_DIR_NAME))
    if (packaged / POLICIES_FILE).is_file():
        return packaged, "packaged defaults"
    return Path(__file__).resolve().parents[3] / "config", "source checkout"
