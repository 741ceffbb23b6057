"""Delivering a notification through one action: bounded retries with exponential backoff,
every outcome counted, a final failure logged once (action, rule and reason — never a URL or
key: those are credentials)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field

from llm_gateway.alerts.notification import Notification
from llm_gateway.alerts.notifiers import DeliveryFailed, Notifier
from llm_gateway.redaction import redact

logger = logging.getLogger("llm_gateway.alerts")

MAX_BACKOFF_S = 30.0


def backoff_schedule(attempts: int, first_s: float) -> list[float]:
    """The waits before attempts 2..n: ``first_s``, doubled each time, capped."""
    return [min(MAX_BACKOFF_S, first_s * 2**i) for i in range(max(0, attempts - 1))]


@dataclass
class DeliveryStats:
    sent: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    last_error: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        names = sorted(set(self.sent) | set(self.failed))
        return {
            name: {
                "sent": self.sent[name],
                "failed": self.failed[name],
                "retries": self.retries[name],
                "last_error": self.last_error.get(name),
            }
            for name in names
        }


async def deliver(
    notifier: Notifier,
    note: Notification,
    stats: DeliveryStats,
    *,
    attempts: int,
    backoff_s: float,
) -> str | None:
    """Send ``note``; None when delivered, else the reason it was not (already logged)."""
    missing = notifier.configured()
    if missing is not None:
        reason = f"not configured: {missing}"
        return _failed(notifier.name, note, stats, reason)
    waits = backoff_schedule(attempts, backoff_s)
    reason = "no attempt"
    for attempt in range(attempts):
        try:
            await notifier.send(note)
        except DeliveryFailed as exc:
            reason = redact(str(exc))
            if not exc.retryable or attempt == attempts - 1:
                break
            stats.retries[notifier.name] += 1
            await asyncio.sleep(waits[attempt])
            continue
        stats.sent[notifier.name] += 1
        return None
    return _failed(notifier.name, note, stats, f"{reason} after {attempt + 1} attempt(s)")


def _failed(name: str, note: Notification, stats: DeliveryStats, reason: str) -> str:
    stats.failed[name] += 1
    stats.last_error[name] = reason
    logger.error(
        "alert %s (%s, %s): %s delivery failed: %s", note.rule, note.scope, note.step, name, reason
    )
    return reason
