"""The serving process freezes its start-up objects and makes young collections rarer.

Run in a child interpreter: freezing in the test process would keep every later test's objects.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from llm_gateway.gc_tuning import GEN0_THRESHOLD

CHILD = textwrap.dedent(
    """
    import asyncio, gc, json
    from llm_gateway.app import create_app, create_app_from_env

    async def started(app):
        async with app.router.lifespan_context(app):
            return gc.get_freeze_count(), gc.get_threshold()

    plain = asyncio.run(started(create_app()))
    served = asyncio.run(started(create_app_from_env()))
    print(json.dumps({"plain": plain, "served": served}))
    """
)


def test_only_the_serving_factory_tunes_the_collector() -> None:
    env = {"GATEWAY_SIMULATE": "true", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, env=env
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    frozen, threshold = result["plain"]
    assert frozen == 0 and threshold[0] == 700  # a plain create_app leaves the collector alone
    frozen, threshold = result["served"]
    assert frozen > 10_000  # FastAPI, the models and the config are in the permanent generation
    assert threshold[0] == GEN0_THRESHOLD
