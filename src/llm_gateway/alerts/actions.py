"""Carrying out a rule's actions, by name, for one incident step or a test.

Notifying actions (:mod:`.notifiers`) are delivered concurrently, each with its own retries
(:mod:`.delivery`); ``auto_disable_model`` acts on the trigger only — it disables the incident's
model before the others are told, so their message can say so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import httpx

from llm_gateway.alerts.auto_disable import is_disabled, switch_model
from llm_gateway.alerts.delivery import DeliveryStats, deliver
from llm_gateway.alerts.notification import Notification, Step
from llm_gateway.alerts.notifiers import Email, Notifier, PagerDuty, Slack, Webhook
from llm_gateway.alerts.rules import AlertRule
from llm_gateway.audit import AuditLog
from llm_gateway.settings import Settings

logger = logging.getLogger("llm_gateway.alerts")

AUTO_DISABLE = "auto_disable_model"


class Actions:
    """Every action by name, with the delivery settings and counters they share."""

    def __init__(self, settings: Settings, gateway: Any, audit: AuditLog | None) -> None:
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False)
        self.notifiers: dict[str, Notifier] = {
            n.name: n
            for n in (
                PagerDuty(settings, self._client),
                Slack(settings, self._client),
                Email(settings),
                Webhook(settings, self._client),
            )
        }
        self.gateway = gateway
        self.audit = audit
        self.stats = DeliveryStats()
        self._attempts = settings.GATEWAY_ALERTS_DELIVERY_ATTEMPTS
        self._backoff_s = settings.GATEWAY_ALERTS_DELIVERY_BACKOFF_S

    async def aclose(self) -> None:
        await self._client.aclose()

    def configured(self) -> dict[str, str | None]:
        """Each notifying action: None when it can deliver, else what is missing."""
        return {name: notifier.configured() for name, notifier in self.notifiers.items()}

    async def disable_model(self, rule: AlertRule, model: str, summary: str) -> dict[str, Any]:
        """Take ``model`` out of selection on every replica (unless it already is)."""
        if is_disabled(self.gateway, model):
            return {"disabled_model": model, "already_disabled": True}
        try:
            shared = await switch_model(
                self.gateway,
                self.audit,
                model,
                enabled=False,
                actor=f"alert:{rule.name}",
                reason=summary,
            )
        except Exception as exc:  # the record store refused: nothing was applied
            logger.error("alert %s: could not disable model %s: %s", rule.name, model, exc)
            return {"disable_error": str(exc)}
        return {"disabled_model": model, "applied_by": shared.get("applied_by")}

    async def notify_via(self, names: Sequence[str], note: Notification) -> dict[str, str]:
        """Deliver ``note`` through the notifiers ``names`` (retried with the configured
        attempts and back-off); per notifier ``sent`` or why not."""
        results = await asyncio.gather(
            *(
                deliver(
                    self.notifiers[name],
                    note,
                    self.stats,
                    attempts=self._attempts,
                    backoff_s=self._backoff_s,
                )
                for name in names
            )
        )
        return {name: result or "sent" for name, result in zip(names, results, strict=True)}

    async def notify(self, rule: AlertRule, note: Notification) -> dict[str, str]:
        """Deliver ``note`` through every notifying action of ``rule``; per action ``sent``
        or why not."""
        names = [name for name in rule.actions if name != AUTO_DISABLE]
        out = await self.notify_via(names, note)
        if AUTO_DISABLE in rule.actions and note.step is Step.TEST:
            out[AUTO_DISABLE] = "skipped: a test never disables a model"
        return out
