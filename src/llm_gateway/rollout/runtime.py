"""The rollout in a serving gateway: the live flags follow the control plane, and the rollback
guard runs on one replica at a time.

Every ``GATEWAY_ROLLOUT_GUARD_INTERVAL_S`` each replica tries the ``rollout-guard`` lease (the
alerts' pattern). The holder reads each arm's evidence from the ledger, decides
(:func:`.guard.decide`) and, on a step, commits the new percentage through the admin change
path — durable, audited with actor ``rollback-guard``, live on every replica — records the step
(control state kind ``flag``, key ``guard``: visible on every replica's ``GET /flags``) and
alerts through the guard's actions, with an incident in the alerts history.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import Any

from llm_gateway.audit import AuditLog
from llm_gateway.errors import ConfigError
from llm_gateway.rollout.evidence import ArmEvidence, arm_evidence
from llm_gateway.rollout.flags import FLAG_KIND, GUARD_KEY, ROLLOUT_KEY, RolloutFlags
from llm_gateway.rollout.guard import Step, decide
from llm_gateway.rollout.guard_rules import NO_GUARD, GuardConfig, load_guard, rollout_path
from llm_gateway.settings import Settings
from llm_gateway.state.base import StateUnavailable

logger = logging.getLogger("llm_gateway.rollout")

LEASE = "rollout-guard"
ACTOR = "rollback-guard"
INCIDENT_RULE = "rollback_guard"


class RolloutService:
    """One replica's rollout: its flags (``gateway.flags``) and the guard's schedule."""

    def __init__(self, settings: Settings, gateway: Any, audit: AuditLog | None) -> None:
        self.gateway = gateway
        self.audit = audit
        self.interval_s = settings.GATEWAY_ROLLOUT_GUARD_INTERVAL_S
        self._explicit = settings.GATEWAY_ROLLOUT_FILE
        self._config_dir = settings.config_dir
        self.path = rollout_path(self._explicit, self._config_dir)
        self.config: GuardConfig = NO_GUARD
        self.error: str | None = None
        self.evaluating = False
        self.evidence: dict[str, ArmEvidence] = {}
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def load(self) -> None:
        """Read rollout.yaml; a bad file keeps the guard in force and ``error`` says why. At
        start-up a bad file is an error (:meth:`start` raises)."""
        try:
            self.path = rollout_path(self._explicit, self._config_dir)
            self.config = load_guard(self.path)
            self.error = None
        except ConfigError as exc:
            self.error = "; ".join(str(issue) for issue in exc.issues)
            raise

    async def reload(self) -> dict[str, Any]:
        """Read the file again (off the event loop); a bad file keeps the guard in force."""
        before = self.config.version
        try:
            await asyncio.to_thread(self.load)
        except ConfigError:
            logger.error("rollout.yaml not reloaded; the guard stays as it was: %s", self.error)
            return {"status": "kept", "error": self.error}
        status = "reloaded" if self.config.version != before else "unchanged"
        return {"status": status, "guard": self.config.enabled, "version": self.config.version}

    async def start(self) -> None:
        await asyncio.to_thread(self.load)
        if self.config.enabled and self.gateway.records is None:
            logger.warning("rollback guard: no record store (DATABASE_URL is empty): not run")
        self._task = asyncio.create_task(self._run(), name="llm-gateway-rollout-guard")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        control = self.gateway.control
        if control is not None and self.evaluating:
            with contextlib.suppress(StateUnavailable):
                await control.store.release_lease(LEASE, control.replica_id)

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("rollback guard round failed; tried again next round")
            await asyncio.sleep(self.interval_s)

    async def tick(self) -> Step | None:
        """One round: the lease holder measures and maybe steps; the others only refresh."""
        if not self.config.enabled or self.gateway.records is None:
            return None
        control = self.gateway.control
        ttl = max(3 * self.interval_s, 2.0)
        try:
            held = control is None or await control.store.try_lease(LEASE, control.replica_id, ttl)
        except StateUnavailable:
            held = False  # no shared lease: do not risk two replicas stepping
        self.evaluating = held
        return await self.evaluate() if held else None

    async def measure(self) -> dict[str, ArmEvidence]:
        spec = self.config.spec
        window = spec.window if spec is not None else 600.0
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.gateway.records.writer.flush(), 2.0)
        self.evidence = await arm_evidence(self.gateway.records.store, window)
        return self.evidence

    async def evaluate(self) -> Step | None:
        assert self.config.spec is not None
        async with self._lock:
            evidence = await self.measure()
            flags: RolloutFlags = self.gateway.flags.current()
            step = decide(
                self.config.spec, flags, evidence, self.gateway.flags.guard_step, time.time()
            )
            if step is not None:
                await self._take(step, flags, evidence)
            return step

    async def _take(
        self, step: Step, flags: RolloutFlags, evidence: dict[str, ArmEvidence]
    ) -> None:
        from llm_gateway.routes.admin_changes import share_change

        live = self.gateway.flags
        fields = {
            "v2_percentage": min(flags.v2_percentage, step.after),
            "node_percentages": step.node_percentages,
        }
        record = {
            "at": time.time(),
            "from": step.before,
            "to": step.after,
            "reason": step.reason(),
            "evidence": {arm: e.as_dict() for arm, e in evidence.items()},
        }
        changes = [
            (FLAG_KIND, ROLLOUT_KEY, live.overlay_value(fields, ACTOR)),
            (FLAG_KIND, GUARD_KEY, record),
        ]
        entry = AuditLog.make_entry(
            actor=ACTOR,
            client=None,
            action="flags.guard_step",
            target="rollout",
            before={"v2_percentage": flags.v2_percentage, **_nodes(flags.node_percentages)},
            after={"v2_percentage": fields["v2_percentage"], **_nodes(step.node_percentages)},
            detail=step.reason(),
        )
        shared = await share_change(self.gateway, self.audit, self.gateway.control, changes, entry)
        logger.warning(
            "rollback guard: v2 %s%% → %s%% (%s); applied by %s of %s replicas",
            step.before,
            step.after,
            step.reason(),
            shared.get("applied_by"),
            shared.get("replicas") or "?",
        )
        await self._alert(step, record)

    async def _alert(self, step: Step, record: dict[str, Any]) -> None:
        """An incident in the alerts history (opened and closed: the step is done) and a
        notification through the guard's actions."""
        from llm_gateway.alerts.notification import Notification
        from llm_gateway.alerts.notification import Step as NoteStep

        alerts = self.gateway.alerts
        spec = self.config.spec
        if alerts is None or spec is None:
            return
        at = datetime.now(UTC)
        summary = f"v2 stepped down {step.before}% → {step.after}%: {step.reason()}"
        incident = None
        if alerts.incidents is not None:
            incident = await alerts.incidents.open(
                rule=INCIDENT_RULE,
                scope_key=f"{step.before}->{step.after}@{int(record['at'])}",
                condition="; ".join(b.rule.describe() for b in step.breaches),
                severity="critical" if step.after == 0 else "warning",
                value=float(step.after),
                summary=summary,
                detail=record,
                now=at,
            )
        actions = alerts.actions
        note = Notification(
            step=NoteStep.TRIGGER,
            rule=INCIDENT_RULE,
            scope="v2_percentage",
            condition=summary,
            severity="critical" if step.after == 0 else "warning",
            summary=summary,
            value=float(step.after),
            dedup_key=f"llm-gateway:{INCIDENT_RULE}:{int(record['at'])}",
            source=alerts.source,
            started_at=at.isoformat(timespec="seconds"),
            incident_id=incident.id if incident is not None else None,
            details=record,
        )
        delivered = await actions.notify_via(list(spec.actions), note)
        if incident is not None and alerts.incidents is not None:
            await alerts.incidents.note(incident, {"delivery_trigger": delivered})
            await alerts.incidents.resolve(incident, at)

    # -- what GET /flags shows -------------------------------------------------------------------

    async def view(self) -> dict[str, Any]:
        flags = self.gateway.flags.current()
        last = self.gateway.flags.guard_step
        if self.config.enabled and self.gateway.records is not None and not self.evaluating:
            with contextlib.suppress(Exception):
                await self.measure()
        running = self.config.enabled and self.gateway.records is not None
        state = "off"
        if running:
            updated = float(self.gateway.flags.overlay.get("updated_at") or 0.0)
            by_guard = self.gateway.flags.overlay.get("updated_by") == ACTOR
            if flags.pinned:
                state = "pinned"
            elif last is not None and by_guard and float(last.get("at") or 0) >= updated - 1:
                state = "stepped_down"
            else:
                state = "watching"
        spec = self.config.spec
        return {
            "enabled": running,
            "state": state,
            "rules": self.config.rules_view(),
            "window_s": spec.window if spec else None,
            "min_requests": spec.min_requests if spec else None,
            "cooldown_s": spec.cooldown if spec else None,
            "steps": list(spec.steps) if spec else None,
            "file": str(self.path) if self.path else None,
            "error": self.error,
            "this_replica_evaluates": self.evaluating,
            "last_step": last,
            "evidence": {
                arm: self.evidence.get(arm, ArmEvidence()).as_dict() for arm in ("v1", "v2")
            },
        }


def _nodes(nodes: dict[str, int]) -> dict[str, Any]:
    return {"node_percentages": dict(nodes)} if nodes else {}


async def open_rollout(
    settings: Settings, gateway: Any, control: Any, audit: AuditLog | None
) -> RolloutService:
    """Follow the shared flags (or the record store's, when the state store is down at start),
    and start the guard."""
    flags = gateway.flags
    control.followers.append(flags)
    if control.state is not None:
        flags.apply_control(control.state)
    elif gateway.records is not None:
        with contextlib.suppress(Exception):
            for key, value in (await gateway.records.load(FLAG_KIND)).items():
                flags.apply_change(FLAG_KIND, key, value)
    service = RolloutService(settings, gateway, audit)
    gateway.rollout = service
    await service.start()
    return service


async def close_rollout(gateway: Any, control: Any, service: RolloutService) -> None:
    await service.aclose()
    with contextlib.suppress(ValueError):
        control.followers.remove(gateway.flags)
    gateway.rollout = None
