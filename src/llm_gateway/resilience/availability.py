"""A circuit's transitions, as the rest of the gateway follows them: the gauge, one INFO line,
and selection's view of the model (unavailable while open, back after the cool-down, when the
breaker lets one probe in)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from llm_gateway.resilience.circuit import CircuitState

if TYPE_CHECKING:
    from llm_gateway.gateway import LLMGateway

logger = logging.getLogger("llm_gateway.gateway")


def follow_circuit(gateway: LLMGateway, model: str, old: CircuitState, new: CircuitState) -> None:
    gateway.metrics.set_circuit(model, new)
    circuit = gateway.circuits.state(model)
    logger.info(
        "circuit %s: %s → %s%s",
        model,
        old.value,
        new.value,
        f" for {circuit.cooldown_s:g} s ({circuit.last_error})" if new is CircuitState.OPEN else "",
    )
    if new is CircuitState.OPEN:
        gateway.signals.set_available(model, False)
        cooldown = gateway.circuits.state(model).cooldown_s
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        # After the cool-down the model is selectable again; the breaker lets one probe in.
        loop.call_later(cooldown, gateway.signals.set_available, model, True)
    elif new is CircuitState.CLOSED:
        gateway.signals.set_available(model, True)
