"""``AlertService``: one replica's side of alerting — the rules it loaded, the evaluation
schedule, and the state the admin API shows.

Every ``GATEWAY_ALERTS_INTERVAL_S`` each replica tries the ``alerts-evaluator`` lease in the
state store (Redis with several replicas; its holder renews it each round, and it lapses after
three rounds without one). The holder measures every rule on the ledger, decides
(:mod:`.evaluation`) and carries the decisions out through the incident store, which lets one
writer notify each step (:mod:`.incidents`); the others only refresh what they show.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llm_gateway.alerts.actions import AUTO_DISABLE, Actions
from llm_gateway.alerts.auto_disable import probe, switch_model
from llm_gateway.alerts.budget_usage import budget_usage_of
from llm_gateway.alerts.conditions import Metric
from llm_gateway.alerts.evaluation import Decision, ScopeState, Verdict, decide
from llm_gateway.alerts.incidents import Incident, IncidentStore
from llm_gateway.alerts.measures import Measurement, measure
from llm_gateway.alerts.notification import Notification, Step
from llm_gateway.alerts.rules import NO_RULES, AlertRule, AlertRules, alerts_path, load_rules
from llm_gateway.audit import AuditLog
from llm_gateway.errors import ConfigError
from llm_gateway.settings import Settings
from llm_gateway.state.base import StateUnavailable

logger = logging.getLogger("llm_gateway.alerts")

LEASE = "alerts-evaluator"
NO_BUDGETS = "no budgets configured"


class AlertService:
    def __init__(
        self,
        settings: Settings,
        gateway: Any,
        incidents: IncidentStore | None,
        audit: AuditLog | None,
    ) -> None:
        self.gateway = gateway
        self.incidents = incidents
        self.actions = Actions(settings, gateway, audit)
        self.interval_s = settings.GATEWAY_ALERTS_INTERVAL_S
        self.source = settings.GATEWAY_ALERTS_SOURCE or f"llm-gateway@{socket.gethostname()}"
        self.path: Path | None = alerts_path(settings.GATEWAY_ALERTS_FILE, settings.config_dir)
        self.rules: AlertRules = NO_RULES
        self.error: str | None = None
        self.evaluating = False
        self.last_evaluated_at: str | None = None
        self.open: list[Incident] = []
        self._pending: dict[str, dict[str, float]] = {}
        self._seen: dict[str, dict[str, Any]] = {}
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    # -- rules ----------------------------------------------------------------------------------

    def load(self) -> None:
        """Read the rules file (none: no rules). A bad file keeps the rules in force, and
        ``error`` says why (logged once)."""
        if self.path is None:
            self.rules, self.error = NO_RULES, None
            return
        try:
            self.rules = load_rules(self.path)
        except ConfigError as exc:
            self.error = "; ".join(str(issue) for issue in exc.issues)
            logger.error(
                "alerts not loaded (%d issue(s)); %d rule(s) stay in force: %s",
                len(exc.issues),
                len(self.rules.rules),
                self.error,
            )
            return
        self.error = None
        names = {rule.name for rule in self.rules.rules}
        self._pending = {k: v for k, v in self._pending.items() if k in names}

    async def reload(self) -> dict[str, Any]:
        """Read the file again (off the event loop); what happened, for the reload's answer."""
        before = self.rules.version
        await asyncio.to_thread(self.load)
        if self.error is not None:
            return {"status": "kept", "error": self.error, "rules": len(self.rules.rules)}
        status = "reloaded" if self.rules.version != before else "unchanged"
        return {"status": status, "rules": len(self.rules.rules), "version": self.rules.version}

    # -- schedule -------------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self.load)
        if self.incidents is None and self.rules.rules:
            logger.warning("alerts: no record store (DATABASE_URL is empty): rules not evaluated")
        self._task = asyncio.create_task(self._run(), name="llm-gateway-alerts")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        control = self.gateway.control
        if control is not None and self.evaluating:
            with contextlib.suppress(StateUnavailable):
                await control.store.release_lease(LEASE, control.replica_id)
        await self.actions.aclose()

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("alert evaluation failed; tried again next round")
            await asyncio.sleep(self.interval_s)

    async def tick(self) -> None:
        """One round: evaluate when this replica holds the lease, else refresh the view."""
        if self.incidents is None or not self.rules.rules:
            return
        control = self.gateway.control
        ttl = max(3 * self.interval_s, 2.0)
        try:
            held = control is None or await control.store.try_lease(LEASE, control.replica_id, ttl)
        except StateUnavailable:
            held = False  # no shared lease: do not risk a second evaluator
        if held and not self.evaluating:
            logger.info("alerts: this replica evaluates the rules now")
        self.evaluating = held
        if held:
            await self.evaluate()
        else:
            self.open = await self.incidents.open_incidents()

    async def evaluate(self, now: datetime | None = None) -> None:
        """Measure, decide and act for every rule (the lease holder only)."""
        assert self.incidents is not None
        async with self._lock:
            at = now or datetime.now(UTC)
            open_by_rule: dict[str, dict[str, Incident]] = {}
            for incident in await self.incidents.open_incidents():
                open_by_rule.setdefault(incident.rule, {})[incident.scope_key] = incident
            for rule in self.rules.rules:
                try:
                    await self._evaluate_rule(rule, open_by_rule.get(rule.name, {}), at)
                except Exception:
                    logger.exception("alert %s: evaluation failed", rule.name)
            self.open = await self.incidents.open_incidents()
            self.last_evaluated_at = at.isoformat(timespec="milliseconds")

    async def _evaluate_rule(
        self, rule: AlertRule, open_incidents: dict[str, Incident], at: datetime
    ) -> None:
        assert self.incidents is not None
        if AUTO_DISABLE in rule.actions and rule.recover_after_s is not None:
            for incident in open_incidents.values():
                await self._maybe_probe(rule, incident, at)
        measured, note = await self._measure(rule, at)
        decisions, states = decide(
            rule,
            measured,
            open_incidents,
            self._pending.setdefault(rule.name, {}),
            at,
            disabled_models=self.gateway.signals.snapshot().disabled,
        )
        self._seen[rule.name] = {"at": at.isoformat(timespec="milliseconds"), "scopes": states}
        if note is not None:
            self._seen[rule.name]["note"] = note
        for decision in decisions:
            await self._carry_out(rule, decision, at)

    async def _measure(
        self, rule: AlertRule, at: datetime
    ) -> tuple[dict[str, Measurement], str | None]:
        """The rule's measurements, and a note when there is nothing to measure."""
        assert self.incidents is not None
        if rule.condition.metric is Metric.BUDGET_USED:
            budgets = budget_usage_of(self.gateway)
            usage = await budgets.usage() if budgets is not None else []
            # none: an open incident resolves (there is no budget left to judge)
            measured = {scope: Measurement(used, 1) for scope, used in usage}
            return measured, None if usage else NO_BUDGETS
        floors = None
        if rule.condition.metric is Metric.MODEL_CONSECUTIVE_FAILURES:
            floors = await self.incidents.resolved_floors(rule.name)
        return await measure(self.incidents.store, rule, at, floors), None

    # -- carrying decisions out -------------------------------------------------------------

    async def _carry_out(self, rule: AlertRule, decision: Decision, at: datetime) -> None:
        assert self.incidents is not None
        value = decision.value if decision.value is not None else 0.0
        summary = rule.condition.describe(value)
        if decision.verdict is Verdict.FIRE:
            incident = await self.incidents.open(
                rule=rule.name,
                scope_key=decision.scope,
                condition=rule.condition.text,
                severity=rule.severity,
                value=value,
                summary=summary,
                now=at,
            )
            if incident is None:
                return  # already open: someone else notified
            detail: dict[str, Any] = {}
            if AUTO_DISABLE in rule.actions:
                detail = await self.actions.disable_model(rule, decision.scope, summary)
                await self.incidents.note(incident, detail)
            logger.info(
                "alert %s fired (%s): %s; actions: %s",
                rule.name,
                decision.scope,
                summary,
                ", ".join(rule.actions),
            )
            await self._deliver(rule, incident, Step.TRIGGER, summary, detail)
        elif decision.incident is None:
            return
        elif decision.verdict is Verdict.REPEAT:
            if await self.incidents.claim_repeat(decision.incident, at):
                await self._deliver(rule, decision.incident, Step.REPEAT, summary, {})
        elif await self.incidents.resolve(decision.incident, at):
            note = f"resolved: {decision.reason}" + (
                f" ({summary})" if decision.value is not None else ""
            )
            logger.info("alert %s resolved (%s): %s", rule.name, decision.scope, note)
            await self._deliver(rule, decision.incident, Step.RESOLVE, note, {})

    async def _deliver(
        self,
        rule: AlertRule,
        incident: Incident,
        step: Step,
        summary: str,
        detail: dict[str, Any],
    ) -> None:
        assert self.incidents is not None
        note = Notification(
            step=step,
            rule=rule.name,
            scope=incident.scope_key,
            condition=rule.condition.text,
            severity=rule.severity,
            summary=summary,
            value=incident.value,
            dedup_key=incident.dedup_key,
            source=self.source,
            started_at=incident.started_at.isoformat(timespec="seconds"),
            incident_id=incident.id,
            details=detail,
        )
        results = await self.actions.notify(rule, note)
        await self.incidents.note(incident, {f"delivery_{step.value}": results})

    async def _maybe_probe(self, rule: AlertRule, incident: Incident, at: datetime) -> None:
        """Every ``recover_after``: one request to the disabled model; enabled on success."""
        assert self.incidents is not None and rule.recover_after_s is not None
        detail = incident.detail or {}
        model = detail.get("disabled_model")
        if not model or detail.get("already_disabled"):
            return
        last = float(detail.get("probed_at") or incident.started_at.timestamp())
        if at.timestamp() - last < rule.recover_after_s:
            return
        failure = await probe(self.gateway, str(model))
        if failure is None:
            logger.info("alert %s: recovery probe of %s succeeded: enabling it", rule.name, model)
            await switch_model(
                self.gateway,
                self.actions.audit,
                str(model),
                enabled=True,
                actor=f"alert:{rule.name}",
                reason="recovery probe succeeded",
            )
        await self.incidents.note(
            incident, {"probed_at": at.timestamp(), "last_probe": failure or "ok"}
        )

    # -- what the admin API shows -------------------------------------------------------------

    async def test(self, rule: AlertRule) -> dict[str, str]:
        note = Notification(
            step=Step.TEST,
            rule=rule.name,
            scope="test",
            condition=rule.condition.text,
            severity=rule.severity,
            summary=f"test notification of '{rule.name}' ({rule.condition.text})",
            value=None,
            dedup_key=f"llm-gateway:test:{rule.name}",
            source=self.source,
        )
        return await self.actions.notify(rule, note)

    async def state(self, history_limit: int = 50) -> dict[str, Any]:
        control = self.gateway.control
        holder = None
        if control is not None:
            with contextlib.suppress(StateUnavailable):
                holder = await control.store.lease_holder(LEASE)
        history: list[Incident] = []
        last: dict[str, Incident] = {}
        if self.incidents is not None:
            history = await self.incidents.history(limit=history_limit)
            last = await self.incidents.last_firing()
            self.open = await self.incidents.open_incidents()
        firing = {(i.rule, i.scope_key): i for i in self.open}
        budgets = budget_usage_of(self.gateway)
        rules = []
        for rule in self.rules.rules:
            seen = self._seen.get(rule.name, {})
            entry: dict[str, Any] = {
                **rule.as_dict(),
                "state": "firing" if any(r == rule.name for r, _ in firing) else "ok",
                "firing": [i.as_dict() for (r, _), i in firing.items() if r == rule.name],
                "last_firing": last[rule.name].as_dict() if rule.name in last else None,
                "last_evaluation": _seen_dict(seen) if seen else None,
            }
            if rule.condition.metric is Metric.BUDGET_USED and (
                budgets is None or seen.get("note") == NO_BUDGETS
            ):
                entry["state"] = NO_BUDGETS
            rules.append(entry)
        return {
            "file": str(self.path) if self.path else None,
            "version": self.rules.version,
            "error": self.error,
            "record_store": self.incidents is not None,
            "interval_s": self.interval_s,
            "evaluator": holder,
            "this_replica_evaluates": self.evaluating,
            "last_evaluated_at": self.last_evaluated_at,
            "rules": rules,
            "actions": {
                name: {"configured": missing is None, "missing": missing}
                for name, missing in self.actions.configured().items()
            },
            "deliveries": self.actions.stats.as_dict(),
            "history": [i.as_dict() for i in history],
        }

    def auto_disabled(self) -> dict[str, str]:
        """Models this deployment's alerts took out of selection: model → rule."""
        return {
            str(i.detail["disabled_model"]): i.rule
            for i in self.open
            if i.detail and i.detail.get("disabled_model") and not i.detail.get("already_disabled")
        }


def _seen_dict(seen: dict[str, Any]) -> dict[str, Any]:
    scopes: dict[str, ScopeState] = seen.get("scopes", {})
    out = {
        "at": seen.get("at"),
        "scopes": {
            key: {
                "value": state.value,
                "samples": state.samples,
                "breach": state.breach,
                "pending_since": state.pending_since,
            }
            for key, state in scopes.items()
        },
    }
    if "note" in seen:
        out["note"] = seen["note"]
    return out
