"""The migration guide's Phase 3.2 check, as it writes it:

    python scripts/compare_writer_outputs.py --old-model gemini-2.5-pro --new-gateway

is ``llm-gateway compare --node writer`` with the same options (``--prompts``, ``--out``,
``--json-out``, ``--json``, ``--gateway-url``, ``--limit``; ``--node`` to compare another node).
Run it with the project's environment (``.venv/bin/python scripts/compare_writer_outputs.py``).
"""

from __future__ import annotations

import sys

from llm_gateway.cli import app


def main(argv: list[str]) -> None:
    args = list(argv)
    if "--node" not in args:
        args = ["--node", "writer", *args]
    app(args=["compare", *args], prog_name="compare_writer_outputs.py")


if __name__ == "__main__":
    main(sys.argv[1:])
