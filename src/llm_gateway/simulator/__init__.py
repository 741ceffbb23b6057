"""An OpenRouter-compatible simulator with fault injection, for demos, tests and benchmarks.

Modules, by concept:

    scenario    the scenario file format (models, latency, prices, faults), parsed strictly
    text        deterministic words, tokens and JSON values
    engine      what a model answers: request view, answer, usage and cost (pure)
    faults      which fault hits an attempt, and the error each sends
    wire        OpenRouter/OpenAI JSON shapes
    timeline    what one attempt sends, and when
    simulation  scenario + faults + attempt log: body -> timeline (shared by server and provider)
    http        the asyncio/httptools HTTP/1.1 server
    player      plays a timeline on a connection (SSE, pacing, cuts)
    server      routes; ``run()`` for the CLI
    testing     ``run_simulator`` / ``arun_simulator`` for tests
"""

from llm_gateway.simulator.attempts import AttemptRecord
from llm_gateway.simulator.engine import answer_for
from llm_gateway.simulator.scenario import FaultSpec, ModelSpec, Scenario, load_scenario
from llm_gateway.simulator.simulation import ClientInfo, Simulation

__all__ = [
    "AttemptRecord",
    "ClientInfo",
    "FaultSpec",
    "ModelSpec",
    "Scenario",
    "Simulation",
    "answer_for",
    "load_scenario",
]
