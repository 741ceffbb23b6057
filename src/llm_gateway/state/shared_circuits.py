"""How replicas share circuits (a part of :class:`~llm_gateway.state.control.ControlPlane`).

A circuit that opens here opens on every replica for the same cool-down: announced as an event,
and kept as a hold that ends with the cool-down so a replica starting meanwhile opens it too.
Just before the cool-down ends one replica wins the probe lease and probes; the others stay open
until its verdict reaches them (or for another cool-down).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from llm_gateway.resilience.circuit import CircuitState
from llm_gateway.state.base import StateStore, StateUnavailable

CIRCUIT_HOLD = "circuit"


class SharedCircuits:
    """The circuit side of the control plane; the plane provides the attributes below."""

    store: StateStore
    gateway: Any
    replica_id: str
    _applying_remote: bool

    if TYPE_CHECKING:  # what ControlPlane defines

        def _spawn(self, work: Any, loop: asyncio.AbstractEventLoop | None = None) -> None: ...

        def _lost(self, exc: Exception) -> None: ...

        async def _publish_quietly(self, event: dict[str, Any]) -> None: ...

    def _on_circuit(self, model: str, old: CircuitState, new: CircuitState) -> None:
        """A transition seen here: tell the others (not what they told us), plan the probe."""
        circuit = self.gateway.circuits.state(model)
        if new is CircuitState.OPEN:
            self._schedule_probe_claim(model, circuit.cooldown_s)
        if self._applying_remote or new is CircuitState.HALF_OPEN:
            return
        event = {
            "type": "circuit",
            "model": model,
            "state": new.value,
            "cooldown_s": circuit.cooldown_s,
            "origin": self.replica_id,
        }
        self._spawn(self._share_circuit(event))

    async def _adopt_open_circuits(self) -> None:
        """Open here, for what is left of their cool-down, the circuits other replicas opened
        before this one started."""
        models = list(self.gateway.registry.catalog.policies)
        now = time.time()
        for model, until in zip(models, await self.store.holds(CIRCUIT_HOLD, models), strict=True):
            if until is not None and float(until) > now:
                event = {"model": model, "state": "open", "cooldown_s": float(until) - now}
                self._follow_circuit(event)

    def _follow_circuit(self, event: dict[str, Any]) -> None:
        state = CircuitState(event["state"])
        self._applying_remote = True
        try:
            self.gateway.circuits.force(
                str(event["model"]), state, float(event.get("cooldown_s") or 0.0)
            )
        finally:
            self._applying_remote = False

    def _schedule_probe_claim(self, model: str, cooldown_s: float) -> None:
        """Just before the cool-down ends, one replica takes the probe; the others stay open
        for another cool-down (the prober's verdict reaches them first, as an event)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return

        async def claim() -> None:
            await asyncio.sleep(max(0.0, cooldown_s - 0.05))
            circuits = self.gateway.circuits
            if circuits.state(model).state is not CircuitState.OPEN:
                return
            try:
                won = await self.store.try_lease(
                    f"probe:{model}", self.replica_id, cooldown_s + circuits.config.max_cooldown_s
                )
            except StateUnavailable:
                return  # alone: probe as a single replica would
            if not won:
                self._applying_remote = True
                try:
                    circuits.force(model, CircuitState.OPEN, cooldown_s)
                finally:
                    self._applying_remote = False

        self._spawn(claim(), loop)

    async def _share_circuit(self, event: dict[str, Any]) -> None:
        """Keep an open circuit as a hold that ends with its cool-down (a closed one drops it),
        then announce the transition."""
        open_for = float(event["cooldown_s"]) if event["state"] == "open" else 0.0
        until = f"{time.time() + open_for}"
        try:
            await self.store.hold_put(CIRCUIT_HOLD, str(event["model"]), until, open_for)
        except StateUnavailable as exc:
            self._lost(exc)
            return
        await self._publish_quietly(event)
