"""Reading the config files from a serving process: off the event loop, time-bounded, and a
reload that would gut the configuration refused unless forced.

``load_catalog`` parses on the calling thread (bounded by the file-size and alias limits of
:mod:`.yaml_source`). In a process that serves requests it runs in a worker thread, so a slow
disk or a hostile file never stalls the event loop; past :data:`READ_TIMEOUT_S` the caller gets
:class:`ConfigReadTimeout` and the live configuration stays as it was (the thread's late result,
if any, is thrown away: nothing is swapped in from it).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from llm_gateway.config.catalog import Catalog
from llm_gateway.config.loader import load_catalog

READ_TIMEOUT_S = 10.0


class ConfigReadTimeout(Exception):
    """Reading and checking the files took longer than the bound."""


async def read_catalog(config_dir: Path | None, timeout_s: float = READ_TIMEOUT_S) -> Catalog:
    """The files' catalogue, parsed in a worker thread; raises ConfigError (every issue) or
    ConfigReadTimeout."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(load_catalog, config_dir), timeout_s)
    except TimeoutError:
        raise ConfigReadTimeout(
            f"reading the configuration took longer than {timeout_s:g} s"
        ) from None


def shrinking_problems(live: Catalog, new: Catalog) -> list[str]:
    """Why ``new`` would be a dangerous replacement of ``live``: no model left, or nodes that
    were defined gone (a truncated or emptied file looks exactly like that)."""
    problems = []
    if not new.policies:
        problems.append("the new configuration defines no model")
    removed = sorted(set(live.nodes) - set(new.nodes))
    if removed:
        problems.append(f"it removes {len(removed)} node(s) now defined: {', '.join(removed)}")
    return problems
