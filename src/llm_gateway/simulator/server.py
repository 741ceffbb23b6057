"""The simulator's HTTP front: OpenRouter's routes (also under ``/v1`` for plain OpenAI clients)
and the control routes tests use. Routing only; every decision is the Simulation's.

    POST   /api/v1/chat/completions   /v1/chat/completions
    GET    /api/v1/models             /v1/models
    GET    /_simulator/attempts[?model=ID]     DELETE /_simulator/attempts
    GET    /_simulator/scenario                PUT    /_simulator/scenario   (YAML or JSON body)
    GET    /_simulator/health
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

import orjson

from llm_gateway.errors import ConfigError
from llm_gateway.simulator.http import Connection, HttpRequest, HttpServer
from llm_gateway.simulator.player import play, play_now
from llm_gateway.simulator.scenario import ModelSpec, ScenarioSource, parse_scenario_text
from llm_gateway.simulator.simulation import ClientInfo, Simulation
from llm_gateway.simulator.wire import error_body, models_list

CHAT_PATHS = frozenset({"/api/v1/chat/completions", "/v1/chat/completions"})
MODELS_PATHS = frozenset({"/api/v1/models", "/v1/models"})


class SimulatorServer:
    """An OpenRouter-compatible server around one :class:`Simulation`."""

    def __init__(
        self, scenario: ScenarioSource = None, *, catalog: Mapping[str, ModelSpec] | None = None
    ) -> None:
        self.simulation = Simulation(scenario, catalog=catalog)
        self._http = HttpServer(self.handle)
        self._started = time.monotonic()

    @property
    def port(self) -> int:
        return self._http.port

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Start listening; returns the port (useful with ``port=0``)."""
        return await self._http.start(host, port)

    async def stop(self) -> None:
        await self._http.stop()

    def handle(self, request: HttpRequest, conn: Connection) -> Awaitable[None] | None:
        """Answer one request: synchronously (None) or with an awaitable to run as a task."""
        path = request.path.rstrip("/")
        if path in CHAT_PATHS and request.method == "POST":
            return self._chat(request, conn)
        status, body = self._route(request.method, path, request)
        conn.respond(status, orjson.dumps(body), request.keep_alive)
        return None

    def _chat(self, request: HttpRequest, conn: Connection) -> Awaitable[None] | None:
        try:
            body = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            body = None
        headers = request.headers
        client = ClientInfo(
            authorization=bool(headers.get("authorization")),
            http_referer=headers.get("http-referer"),
            x_title=headers.get("x-title"),
            path=request.path,
        )
        timeline = self.simulation.attempt(body, client)
        if timeline.waits:
            return play(timeline, conn, request.keep_alive)
        play_now(timeline, conn, request.keep_alive)
        return None

    def _route(self, method: str, path: str, request: HttpRequest) -> tuple[int, Any]:
        """Status and JSON body of every route but chat completions."""
        simulation = self.simulation
        route = (method, path)
        if path in CHAT_PATHS:
            return 405, error_body(405, "Method not allowed")
        if method == "GET" and path in MODELS_PATHS:
            return 200, models_list(simulation.profile(model) for model in simulation.models())
        if route == ("GET", "/_simulator/attempts"):
            model = parse_qs(request.query).get("model", [None])[0]
            return 200, {"attempts": [r.to_dict() for r in simulation.log.snapshot(model)]}
        if route == ("DELETE", "/_simulator/attempts"):
            cleared = len(simulation.log)
            simulation.log.clear()
            return 200, {"cleared": cleared}
        if route == ("GET", "/_simulator/scenario"):
            return 200, simulation.scenario.model_dump(mode="json")
        if route == ("PUT", "/_simulator/scenario"):
            return self._put_scenario(request.body)
        if route == ("GET", "/_simulator/health"):
            times = os.times()
            return 200, {
                "status": "ok",
                "attempts": len(simulation.log),
                "connections": self._http.connection_count,
                "uptime_s": round(time.monotonic() - self._started, 3),
                "cpu_user_s": times.user,
                "cpu_system_s": times.system,
            }
        return 404, error_body(404, f"No route for {method} {path}")

    def _put_scenario(self, text: bytes) -> tuple[int, Any]:
        try:
            scenario = parse_scenario_text(text, origin="PUT /_simulator/scenario")
        except ConfigError as exc:
            issues = [str(issue) for issue in exc.issues]
            return 400, error_body(400, exc.message, {"issues": issues})
        self.simulation.set_scenario(scenario)
        return 200, {"status": "ok", "scenario": scenario.model_dump(mode="json")}


async def serve(
    scenario: ScenarioSource = None,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[int], None] | None = None,
    catalog: Mapping[str, ModelSpec] | None = None,
) -> None:
    """Serve until cancelled; ``on_ready(port)`` is called once listening."""
    server = SimulatorServer(scenario, catalog=catalog)
    bound = await server.start(host, port)
    if on_ready is not None:
        on_ready(bound)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def run(
    scenario: ScenarioSource = None,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[int], None] | None = None,
    catalog: Mapping[str, ModelSpec] | None = None,
) -> None:
    """Run :func:`serve` on uvloop (when installed) until interrupted."""
    main = serve(scenario, host, port, on_ready, catalog)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        asyncio.run(main)
        return
    uvloop.run(main)
