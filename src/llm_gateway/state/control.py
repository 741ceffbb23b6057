"""``ControlPlane``: how one replica shares and follows the deployment's live state.

- **Control state** (overrides, disabled models): an admin change is made durable in the record
  store first, then written to the state store (one version increment) and announced; every
  replica re-reads the state, applies it and acknowledges the version. The admin's answer says
  how many live replicas applied it (``applied_by`` of ``replicas``). A periodic re-sync is the
  safety net for a lost event.
- **Reloads**: a reload on one replica is announced; each replica reloads its own files and
  acknowledges its result (a replica that cannot load them keeps its last good config, and says
  so).
- **Circuits**: a circuit that opens here opens on every replica for the same cool-down (and
  is kept as a hold ending with it, so a replica starting meanwhile opens it too); when it
  ends, one replica wins the probe lease and probes while the others stay open until it
  reports.
- **Heartbeats**: every replica says it is alive with what it runs, for ``GET /replicas``.

While the state store is unreachable the replica serves from what it last knew (health says
degraded, one log line per outage) and re-syncs when it answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from llm_gateway.selection.signals import Override
from llm_gateway.state.base import Change, ControlState, StateStore, StateUnavailable
from llm_gateway.state.shared_circuits import SharedCircuits

logger = logging.getLogger("llm_gateway.state")

OVERRIDE = "override"
DISABLED = "disabled_model"

Reloader = Callable[[bool], Awaitable[dict[str, Any]]]


def new_replica_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class ControlPlane(SharedCircuits):
    """One replica's side of the shared state. ``await start()``, then the admin API calls
    :meth:`change` and :meth:`reload_all`; ``await aclose()`` at shutdown."""

    def __init__(
        self,
        store: StateStore,
        gateway: Any,
        *,
        replica_id: str | None = None,
        heartbeat_s: float = 1.0,
        resync_s: float = 5.0,
        ack_wait_s: float = 1.0,
        reload_wait_s: float = 15.0,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.replica_id = replica_id or new_replica_id()
        self.applied_version = 0
        self.reloader: Reloader | None = None
        # The record store's admin state (the truth), to rebuild a state store that lost it.
        self.durable: Callable[[], Awaitable[Mapping[str, Mapping[str, Any]]]] | None = None
        self._heartbeat_s = heartbeat_s
        self._resync_s = resync_s
        self._ack_wait_s = ack_wait_s
        self._reload_wait_s = reload_wait_s
        self._started_at = time.time()
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: set[asyncio.Task[Any]] = set()
        self._applying_remote = False
        self._unavailable: str | None = None
        self._apply_lock = asyncio.Lock()
        # Features with admin entries of their own in the control state (budgets): each gets
        # ``apply_control(state)`` on every applied state and ``apply_change(kind, key, value)``
        # for a change applied on this replica only.
        self.followers: list[Any] = []
        self.state: ControlState | None = None  # the last state applied

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Join: follow events, adopt the shared control state (rebuilt from the record store's
        admin state when the state store has none), start heartbeats."""
        self.store.on_event(self._on_event)
        await self.store.start()
        try:
            await self._apply(await self._shared_state())
            await self._adopt_open_circuits()
            await self._beat()
            self._available()
        except StateUnavailable as exc:
            self._lost(exc)
        self.gateway.circuits.subscribe(self._on_circuit)
        self._tasks = [
            asyncio.create_task(self._every(self._heartbeat_s, self._beat), name="heartbeat"),
            asyncio.create_task(self._every(self._resync_s, self.resync), name="resync"),
        ]

    async def aclose(self) -> None:
        for task in [*self._tasks, *self._pending]:
            task.cancel()
        for task in [*self._tasks, *self._pending]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(StateUnavailable):
            await self.store.forget_replica(self.replica_id)
        await self.store.aclose()

    @property
    def degraded_reason(self) -> str | None:
        """Why this replica cannot share state now (None when it can)."""
        return self._unavailable

    # -- admin changes --------------------------------------------------------------------------

    async def change(self, changes: Sequence[Change]) -> dict[str, Any]:
        """Share ``changes`` (already durable) with every replica; apply them here; report how
        many live replicas applied them within ``ack_wait_s``."""
        try:
            version = await self.store.control_change(changes)
            await self._apply(await self.store.control_state())
            await self.store.publish(
                {"type": "control", "version": version, "origin": self.replica_id}
            )
            return await self._await_acks(f"control:{version}", self._ack_wait_s)
        except StateUnavailable as exc:
            self._lost(exc)
            self._apply_locally(changes)
            return {
                "applied_by": 1,
                "replicas": None,
                "warning": f"applied on this replica only ({exc}); the others catch up when "
                "the state store answers",
            }

    async def reload_all(self, force: bool, own: Mapping[str, Any]) -> list[dict[str, Any]]:
        """After this replica reloaded (``own``: its result), every other live replica reloads
        its files; all their results, this one's first."""
        topic = f"reload:{uuid.uuid4().hex}"
        try:
            await self.store.ack(topic, self.replica_id, own)
            await self.store.publish(
                {"type": "reload", "topic": topic, "force": force, "origin": self.replica_id}
            )
            summary = await self._await_acks(topic, self._reload_wait_s)
            answers = await self.store.acks(topic)
        except StateUnavailable as exc:
            self._lost(exc)
            return []
        results = [{"replica": rid, **answer} for rid, answer in answers.items()]
        for missing in summary.get("pending", []):
            results.append({"replica": missing, "status": "no_answer"})
        return sorted(results, key=lambda r: r["replica"] != self.replica_id)

    async def replicas(self) -> list[dict[str, Any]]:
        return await self.store.replicas()

    # -- following ------------------------------------------------------------------------------

    async def _shared_state(self) -> ControlState:
        """The state store's control state; one that has none (new, or it lost its data) is
        first rebuilt from the record store."""
        state = await self.store.control_state()
        if state.version == 0 and self.durable is not None:
            entries = await self.durable()
            if entries:
                await self.store.control_replace(entries)
                state = await self.store.control_state()
        return state

    async def resync(self) -> None:
        """Adopt the shared control state if it moved on without us hearing (a lost event)."""
        try:
            state = await self._shared_state()
        except StateUnavailable as exc:
            self._lost(exc)
            return
        if self._unavailable is not None:
            self._available()
        if state.version != self.applied_version:
            await self._apply(state)

    async def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        try:
            if kind == "control":
                if int(event.get("version", 0)) > self.applied_version:
                    await self._apply(await self.store.control_state())
                await self.store.ack(
                    f"control:{event['version']}",
                    self.replica_id,
                    {"version": self.applied_version},
                )
            elif kind == "reload" and event.get("origin") != self.replica_id:
                await self._reload(event)
            elif kind == "circuit" and event.get("origin") != self.replica_id:
                self._follow_circuit(event)
            elif kind == "resubscribed":
                await self.resync()
        except StateUnavailable as exc:
            self._lost(exc)
        except Exception:
            logger.exception("handling the shared event %s failed", kind)

    async def _reload(self, event: dict[str, Any]) -> None:
        if self.reloader is None:
            result: dict[str, Any] = {"status": "unsupported"}
        else:
            result = await self.reloader(bool(event.get("force")))
        await self.store.ack(str(event["topic"]), self.replica_id, result)

    async def _apply(self, state: ControlState) -> None:
        async with self._apply_lock:
            overrides = {
                node: override_from(value)
                for node, value in state.kind(OVERRIDE).items()
                if self.gateway.registry.get_node(node) is not None
            }
            disabled = {model for model, value in state.kind(DISABLED).items() if value}
            self.gateway.signals.replace_control(overrides, disabled)
            self.applied_version = state.version
            self.state = state
            for follower in self.followers:
                follower.apply_control(state)

    def _apply_locally(self, changes: Sequence[Change]) -> None:
        signals = self.gateway.signals
        for kind, key, value in changes:
            if kind == OVERRIDE:
                if value is None:
                    signals.clear_override(key)
                else:
                    signals.set_override(key, override_from(value))
            elif kind == DISABLED:
                signals.set_disabled(key, value is not None)
            for follower in self.followers:
                follower.apply_change(kind, key, value)

    async def _await_acks(self, topic: str, wait_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + wait_s
        while True:
            live = {r["id"] for r in await self.store.replicas()} | {self.replica_id}
            done = set(await self.store.acks(topic))
            if live <= done or time.monotonic() >= deadline:
                return {
                    "applied_by": len(done & live),
                    "replicas": len(live),
                    "pending": sorted(live - done),
                }
            await asyncio.sleep(0.02)

    # -- plumbing -------------------------------------------------------------------------------

    async def _beat(self) -> None:
        registry = self.gateway.registry
        await self.store.heartbeat(
            self.replica_id,
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "control_version": self.applied_version,
                "config_version": registry.version,
                "started_at": self._started_at,
            },
            ttl_s=max(3 * self._heartbeat_s, 2.0),
        )

    async def _every(self, seconds: float, action: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await action()
                if self._unavailable is not None and action == self._beat:
                    self._available()
                    await self.resync()
            except StateUnavailable as exc:
                self._lost(exc)
            except Exception:
                logger.exception("shared-state task failed; retried")

    async def _publish_quietly(self, event: dict[str, Any]) -> None:
        try:
            await self.store.publish(event)
        except StateUnavailable as exc:
            self._lost(exc)

    def _spawn(self, work: Any, loop: asyncio.AbstractEventLoop | None = None) -> None:
        try:
            task = (loop or asyncio.get_running_loop()).create_task(work)
        except RuntimeError:
            work.close()
            return
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _lost(self, exc: Exception) -> None:
        if self._unavailable is None:
            logger.error(
                "state store unavailable (%s): serving from the last known control state, "
                "with this replica's own circuits",
                exc,
            )
        self._unavailable = str(exc)

    def _available(self) -> None:
        if self._unavailable is not None:
            logger.warning("state store available again: re-syncing the control state")
        self._unavailable = None


def override_from(value: Any) -> Override:
    return Override(
        model_id=str(value["model_id"]),
        forced=bool(value.get("forced", False)),
        actor=str(value.get("actor") or "admin"),
        created_at=float(value.get("created_at") or 0.0),
    )
