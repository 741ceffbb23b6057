"""The ``topology`` fixture: deploy/docker-compose.yml's topology run here without containers
(tests/deploy/topology.py), started once for a test module (it takes seconds). Tests that change
its shared state (an override, a reload, a scenario) undo it before they end. Skipped, saying
why, where nginx is not installed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.deploy.nginx_runner import nginx_binary
from tests.deploy.topology import Topology, run_topology
from tests.shared_services import own_resources

from llm_gateway.simulator.testing import run_simulator

QUIET = {"zero_latency": True}


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """Three replicas (simulated upstream, shared Redis and PostgreSQL) behind nginx."""
    if nginx_binary() is None:
        pytest.skip("nginx is not installed: `apt-get install nginx-light` (.ci/run does)")
    root: Path = tmp_path_factory.mktemp("topology")
    with (
        run_simulator(QUIET) as simulator,
        own_resources() as (pg_url, redis_prefix),
        run_topology(root, simulator=simulator, pg_url=pg_url, redis_prefix=redis_prefix) as t,
    ):
        yield t


@pytest.fixture
def quiet_simulator(topology: Topology) -> Iterator[None]:
    """The topology's simulator back to a clean, instant scenario (and no attempts) after the
    test, whatever scenario the test set."""
    topology.simulator.set_scenario(QUIET)
    topology.simulator.clear()
    yield
    topology.simulator.set_scenario(QUIET)
    topology.simulator.clear()
