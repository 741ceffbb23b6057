"""The ``memory`` state store: one process's shared state (``llm-gateway serve`` with one
worker and no ``REDIS_URL``). Same contract as Redis; events reach this process's handlers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from llm_gateway.state.base import Change, ControlState, EventHandler, StateStore

_ACK_TTL_S = 60.0
CACHE_MAX_ENTRIES = 10_000  # one process's response cache, least recently used evicted
CACHE_MAX_BYTES = 64 * 1024 * 1024


class MemoryStateStore(StateStore):
    backend = "memory"

    def __init__(self, clock: Any = time.time) -> None:
        self._clock = clock
        self._version = 0
        self._entries: dict[str, dict[str, Any]] = {}
        self._handlers: list[EventHandler] = []
        self._replicas: dict[str, tuple[float, dict[str, Any]]] = {}
        self._acks: dict[str, tuple[float, dict[str, dict[str, Any]]]] = {}
        self._leases: dict[str, tuple[str, float]] = {}
        self._holds: dict[tuple[str, str], tuple[float, str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._cache: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._cache_bytes = 0

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def ping(self) -> None:
        return None

    async def control_change(self, changes: Sequence[Change]) -> int:
        for kind, key, value in changes:
            entries = self._entries.setdefault(kind, {})
            if value is None:
                entries.pop(key, None)
            else:
                entries[key] = value
        self._version += 1
        return self._version

    async def control_state(self) -> ControlState:
        return ControlState(self._version, {k: dict(v) for k, v in self._entries.items()})

    async def control_replace(self, entries: Mapping[str, Mapping[str, Any]]) -> int:
        self._entries = {kind: dict(values) for kind, values in entries.items()}
        self._version += 1
        return self._version

    async def publish(self, event: dict[str, Any]) -> None:
        for handler in list(self._handlers):
            task = asyncio.get_running_loop().create_task(handler(dict(event)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def on_event(self, handler: EventHandler) -> None:
        self._handlers.append(handler)

    async def heartbeat(self, replica_id: str, info: Mapping[str, Any], ttl_s: float) -> None:
        self._replicas[replica_id] = (self._clock() + ttl_s, {**info, "at": self._clock()})

    async def replicas(self) -> list[dict[str, Any]]:
        now = self._clock()
        live = []
        for replica_id, (until, info) in list(self._replicas.items()):
            if until < now:
                del self._replicas[replica_id]
                continue
            live.append({"id": replica_id, **info})
        return sorted(live, key=lambda r: r["id"])

    async def forget_replica(self, replica_id: str) -> None:
        self._replicas.pop(replica_id, None)

    async def ack(self, topic: str, replica_id: str, result: Mapping[str, Any]) -> None:
        now = self._clock()
        for name, (until, _) in list(self._acks.items()):
            if until < now:
                del self._acks[name]
        _, answers = self._acks.setdefault(topic, (now + _ACK_TTL_S, {}))
        answers[replica_id] = dict(result)

    async def acks(self, topic: str) -> dict[str, dict[str, Any]]:
        entry = self._acks.get(topic)
        return dict(entry[1]) if entry else {}

    async def try_lease(self, name: str, holder: str, ttl_s: float) -> bool:
        now = self._clock()
        current = self._leases.get(name)
        if current is not None and current[1] > now and current[0] != holder:
            return False
        self._leases[name] = (holder, now + ttl_s)
        return True

    async def release_lease(self, name: str, holder: str) -> None:
        current = self._leases.get(name)
        if current is not None and current[0] == holder:
            del self._leases[name]

    async def cache_get(self, key: str) -> str | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            self._cache_drop(key)
            return None
        self._cache.move_to_end(key)
        return entry[1]

    async def cache_put(self, key: str, value: str, ttl_s: float) -> None:
        self._cache_drop(key)
        self._cache[key] = (self._clock() + ttl_s, value)
        self._cache_bytes += len(value)
        while len(self._cache) > CACHE_MAX_ENTRIES or self._cache_bytes > CACHE_MAX_BYTES:
            self._cache_drop(next(iter(self._cache)))

    def _cache_drop(self, key: str) -> None:
        entry = self._cache.pop(key, None)
        if entry is not None:
            self._cache_bytes -= len(entry[1])

    async def hold_put(self, family: str, name: str, value: str, ttl_s: float) -> None:
        now = self._clock()
        # Bounded: one entry per family and name (models), the ended ones pruned on every put.
        self._holds = {k: v for k, v in self._holds.items() if v[0] > now}
        if ttl_s <= 0:
            self._holds.pop((family, name), None)
        else:
            self._holds[(family, name)] = (now + ttl_s, value)

    async def holds(self, family: str, names: Sequence[str]) -> list[str | None]:
        now = self._clock()
        found = [self._holds.get((family, name)) for name in names]
        return [entry[1] if entry and entry[0] > now else None for entry in found]

    async def lease_holder(self, name: str) -> str | None:
        current = self._leases.get(name)
        if current is None or current[1] <= self._clock():
            return None
        return current[0]
