"""``StateStore``: live state shared by every replica — the control state (overrides, disabled
models, flags; versioned), events between replicas, heartbeats, acknowledgements and leases.

Two backends with one contract: ``memory`` (one process; events reach its own subscribers) and
``redis`` (every replica of a deployment). Nothing here is the truth of a durable fact: the
record store is, and the control state is rebuilt from it when the state store comes up empty.
Every method may raise :class:`StateUnavailable`; callers keep serving from what they last knew.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

EventHandler = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]

# (kind, key, value): value None removes the entry
Change = tuple[str, str, Any]


class StateUnavailable(Exception):
    """The state store did not answer; the message says which and why."""


@dataclass(frozen=True, slots=True)
class ControlState:
    """Every control entry by kind and key, at ``version`` (0: never written)."""

    version: int = 0
    entries: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def kind(self, kind: str) -> Mapping[str, Any]:
        return self.entries.get(kind, {})


class StateStore(ABC):
    """The shared live state of one deployment (see the module doc)."""

    backend: str = "?"

    @abstractmethod
    async def start(self) -> None:
        """Connect (and start delivering events to the handlers)."""

    @abstractmethod
    async def aclose(self) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raises StateUnavailable when the store does not answer."""

    # -- control state ------------------------------------------------------------------------

    @abstractmethod
    async def control_change(self, changes: Sequence[Change]) -> int:
        """Apply ``changes`` atomically and return the new version (one increment)."""

    @abstractmethod
    async def control_state(self) -> ControlState: ...

    @abstractmethod
    async def control_replace(self, entries: Mapping[str, Mapping[str, Any]]) -> int:
        """Replace the whole control state (rebuilt from the records); return the version."""

    # -- events ---------------------------------------------------------------------------------

    @abstractmethod
    async def publish(self, event: dict[str, Any]) -> None:
        """Send ``event`` to every replica's handlers, this one's included."""

    @abstractmethod
    def on_event(self, handler: EventHandler) -> None: ...

    # -- replicas, acknowledgements, leases -------------------------------------------------------

    @abstractmethod
    async def heartbeat(self, replica_id: str, info: Mapping[str, Any], ttl_s: float) -> None:
        """This replica is alive (for ``ttl_s``), with ``info`` (versions, pid, host)."""

    @abstractmethod
    async def replicas(self) -> list[dict[str, Any]]:
        """The live replicas' last heartbeats (``id``, ``at``, and their info)."""

    @abstractmethod
    async def forget_replica(self, replica_id: str) -> None: ...

    @abstractmethod
    async def ack(self, topic: str, replica_id: str, result: Mapping[str, Any]) -> None:
        """Record ``replica_id``'s answer to ``topic`` (kept a minute)."""

    @abstractmethod
    async def acks(self, topic: str) -> dict[str, dict[str, Any]]: ...

    @abstractmethod
    async def try_lease(self, name: str, holder: str, ttl_s: float) -> bool:
        """Take the lease ``name`` for ``ttl_s`` unless another holder has it."""

    @abstractmethod
    async def release_lease(self, name: str, holder: str) -> None:
        """Give the lease back, only if ``holder`` still holds it."""

    # -- the response cache -----------------------------------------------------------------------

    @abstractmethod
    async def cache_get(self, key: str) -> str | None:
        """The cached value (JSON text) of ``key``, None when absent or expired."""

    @abstractmethod
    async def cache_put(self, key: str, value: str, ttl_s: float) -> None:
        """Keep ``value`` under ``key`` for ``ttl_s`` (the store may evict it sooner)."""

    # -- holds: live facts with an end a replica joining later must still learn ------------------

    @abstractmethod
    async def hold_put(self, family: str, name: str, value: str, ttl_s: float) -> None:
        """Keep ``value`` as ``family``'s ``name`` for ``ttl_s`` (a circuit open or a model
        cooling down: what an event told the replicas alive then). ``ttl_s <= 0`` drops it."""

    @abstractmethod
    async def holds(self, family: str, names: Sequence[str]) -> list[str | None]:
        """The live value of each of ``names`` in ``family`` (None: none, or it ended)."""

    @abstractmethod
    async def lease_holder(self, name: str) -> str | None:
        """Who holds the lease ``name`` now (None: nobody, or it lapsed)."""
