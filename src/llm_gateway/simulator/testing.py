"""Run the simulator inside a test: a background thread with its own event loop, on an
ephemeral 127.0.0.1 port.

    flaky = {"models": {"*": {"faults": [{"kind": "error", "status": 429, "times": 1}]}}}
    with run_simulator(flaky) as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="test")
        ...
        assert [a.fault for a in sim.attempts()] == ["error", None]

``arun_simulator`` is the same as an async context manager. Without a scenario the simulator
runs :meth:`Scenario.for_tests` (zero latency).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

from llm_gateway.simulator.attempts import AttemptRecord
from llm_gateway.simulator.engine import answer_for
from llm_gateway.simulator.scenario import ModelSpec, Scenario, ScenarioSource, load_scenario
from llm_gateway.simulator.server import SimulatorServer

_T = TypeVar("_T")
_START_TIMEOUT_S = 10.0


class SimulatorHandle:
    """A running simulator. Methods are thread-safe: each runs on the simulator's own loop."""

    def __init__(
        self,
        scenario: Scenario,
        host: str = "127.0.0.1",
        port: int = 0,
        catalog: Mapping[str, ModelSpec] | None = None,
    ) -> None:
        self._server = SimulatorServer(scenario, catalog=catalog)
        self._host = host
        self._requested_port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.port = 0

    @property
    def origin(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """OpenRouter-style base URL: ``http://127.0.0.1:PORT/api/v1``."""
        return f"{self.origin}/api/v1"

    @property
    def openai_base_url(self) -> str:
        """Plain OpenAI-style base URL: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.origin}/v1"

    @property
    def scenario(self) -> Scenario:
        return self._server.simulation.scenario

    def attempts(self, model: str | None = None) -> list[AttemptRecord]:
        """Every attempt received so far, in order (optionally only ``model``'s)."""
        return self._call(lambda: self._server.simulation.log.snapshot(model))

    def clear(self) -> None:
        """Forget the attempts received so far."""
        self._call(self._server.simulation.log.clear)

    def set_scenario(self, scenario: ScenarioSource) -> Scenario:
        """Replace the scenario (fault counters restart). Raises ConfigError when invalid."""
        loaded = load_scenario(scenario)
        return self._call(lambda: self._server.simulation.set_scenario(loaded))

    def answer_for(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        model: str = "simulated/model",
        response_format: Mapping[str, Any] | None = None,
    ) -> str:
        """The full answer the simulator gives ``messages`` under the current scenario."""
        return answer_for(
            messages, scenario=self.scenario, model=model, response_format=response_format
        )

    # lifecycle

    def start(self) -> SimulatorHandle:
        self._thread = threading.Thread(target=self._run, name="llm-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S) or self._error is not None:
            self.stop()
            raise RuntimeError(f"simulator did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        """Stop the server, drop its connections and join the thread. Idempotent."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already finished
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(_START_TIMEOUT_S)
            self._thread = None

    def _run(self) -> None:
        loop = _new_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to start() through _error
            self._error = exc
            self._ready.set()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self.port = await self._server.start(self._host, self._requested_port)
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self._server.stop()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _call(self, function: Callable[[], _T]) -> _T:
        if self._loop is None or self._thread is None:
            raise RuntimeError("the simulator is not running")

        async def call() -> _T:
            return function()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(_START_TIMEOUT_S)


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _test_scenario(scenario: ScenarioSource) -> Scenario:
    if scenario is None:
        return Scenario.for_tests()
    return load_scenario(scenario)


@contextmanager
def run_simulator(
    scenario: ScenarioSource = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    catalog: Mapping[str, ModelSpec] | None = None,
) -> Iterator[SimulatorHandle]:
    """Start a simulator for the ``with`` block (zero-latency test scenario by default).
    ``catalog`` (e.g. :func:`~llm_gateway.simulator.scenario.catalog_specs`) prices the
    models the scenario does not."""
    handle = SimulatorHandle(_test_scenario(scenario), host, port, catalog).start()
    try:
        yield handle
    finally:
        handle.stop()


@asynccontextmanager
async def arun_simulator(
    scenario: ScenarioSource = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    catalog: Mapping[str, ModelSpec] | None = None,
) -> AsyncIterator[SimulatorHandle]:
    """:func:`run_simulator` for ``async with``; starting and stopping do not block the loop."""
    handle = SimulatorHandle(_test_scenario(scenario), host, port, catalog)
    await _in_thread(handle.start)
    try:
        yield handle
    finally:
        await _in_thread(handle.stop)


def _in_thread(function: Callable[[], Any]) -> Awaitable[Any]:
    return asyncio.to_thread(function)
