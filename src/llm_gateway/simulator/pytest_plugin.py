"""Pytest plugin: the ``simulator`` fixture.

Enable it in a ``conftest.py`` with ``pytest_plugins = ["llm_gateway.simulator.pytest_plugin"]``.
Each test gets a fresh simulator (zero latency unless the scenario says otherwise); choose the
scenario with a marker::

    DOWN = {"models": {"*": {"faults": [{"kind": "error", "status": 503}]}}}

    @pytest.mark.simulator_scenario(DOWN)
    def test_fallback(simulator):
        ...  # simulator.base_url, simulator.attempts(), simulator.set_scenario(...)

A mapping given to the marker gets ``zero_latency: true`` unless it sets ``zero_latency``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from llm_gateway.simulator.testing import SimulatorHandle, run_simulator


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "simulator_scenario(scenario): the scenario (mapping, YAML text, path or Scenario) of "
        "the `simulator` fixture",
    )


@pytest.fixture
def simulator(request: pytest.FixtureRequest) -> Iterator[SimulatorHandle]:
    """A running OpenRouter-compatible simulator on 127.0.0.1 for the test."""
    marker = request.node.get_closest_marker("simulator_scenario")
    scenario = marker.args[0] if marker is not None and marker.args else None
    if isinstance(scenario, Mapping) and "zero_latency" not in scenario:
        scenario = {**scenario, "zero_latency": True}
    with run_simulator(scenario) as handle:
        yield handle
