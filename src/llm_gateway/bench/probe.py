"""Start ``llm-gateway`` with a probe that reports the process's live asyncio task count.

``python -m llm_gateway.bench.probe FILE INTERVAL serve --host ... --port ...`` starts a daemon
thread that every INTERVAL seconds writes ``{"asyncio_tasks": N, "at": T}`` to FILE (atomically),
then runs the CLI with the remaining arguments exactly as ``llm-gateway`` would. The soak uses it
because a task count can only be read from inside the process; the thread only reads the size of
asyncio's weak set of live tasks, so it costs nothing measurable.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path

import orjson


def live_task_count() -> int:
    """Tasks alive in this process, over every event loop (asyncio's own registry)."""
    registry = asyncio.tasks._all_tasks  # type: ignore[attr-defined]
    return len(registry)


def _report_forever(path: Path, interval_s: float) -> None:
    partial = path.with_suffix(".tmp")
    while True:
        partial.write_bytes(orjson.dumps({"asyncio_tasks": live_task_count(), "at": time.time()}))
        os.replace(partial, path)
        time.sleep(interval_s)


def read_probe(path: Path) -> int | None:
    """The last task count the probe wrote, or None when there is none yet."""
    try:
        return int(orjson.loads(path.read_bytes())["asyncio_tasks"])
    except (OSError, ValueError, KeyError):
        return None


def main() -> None:
    path, interval, rest = Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
    threading.Thread(target=_report_forever, args=(path, interval), daemon=True).start()
    from llm_gateway.cli import app

    app(args=rest, prog_name="llm-gateway")


if __name__ == "__main__":
    main()
