"""The ``llm-gateway`` command. Each group of subcommands lives in its own module and registers
itself on :data:`app` when imported here."""

import llm_gateway.cli.bench  # noqa: F401
import llm_gateway.cli.config_cmds  # noqa: F401
import llm_gateway.cli.serve  # noqa: F401
import llm_gateway.cli.simulate  # noqa: F401
from llm_gateway.cli.app import app

__all__ = ["app"]
