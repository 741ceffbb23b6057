"""The upstream's side: the simulator's scenario for a cell, and its attempt log read back per
logical model of the gateway's catalogue."""

from __future__ import annotations

from typing import Any

from llm_gateway.faults.cells import PROVIDER_MODELS, Pace
from llm_gateway.faults.scoring import Attempt
from llm_gateway.simulator.testing import SimulatorHandle

_LOGICAL = {provider: logical for logical, provider in PROVIDER_MODELS.items()}


def scenario_for(faults: dict[str, list[dict[str, Any]]], pace: Pace, **models: Any) -> dict:
    """The simulator's scenario: ``faults`` per logical model, the pace's latency for all."""
    entries: dict[str, Any] = {"*": {"ttft_s": pace.ttft_s, "tokens_per_s": pace.tokens_per_s}}
    for logical, specs in faults.items():
        entries[PROVIDER_MODELS[logical]] = {"faults": specs}
    for logical, extra in models.items():
        entries.setdefault(PROVIDER_MODELS[logical], {}).update(extra)
    return {
        "seed": 14,
        "processing_interval_s": 0.5,
        "answer": {"min_words": 24, "max_words": 40},
        "models": entries,
    }


def attempts_by_model(sim: SimulatorHandle) -> dict[str, list[Attempt]]:
    """The simulator's attempt log, per logical model, in order."""
    grouped: dict[str, list[Attempt]] = {}
    for record in sim.attempts():
        model = _LOGICAL.get(record.model or "", record.model or "?")
        grouped.setdefault(model, []).append(Attempt(record.t, record.status, record.fault))
    return grouped
