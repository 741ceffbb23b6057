"""Alerting: the guide's ``alerts.yaml`` evaluated on the ledger, one incident per breach,
delivered through named actions (docs/alerts.md).

- :mod:`.conditions` — ``error_rate > 5%`` and its kin, parsed strictly
- :mod:`.rules` — the file's rules (pydantic, every issue by key path)
- :mod:`.measures` — what each metric is, read from the ledger
- :mod:`.evaluation` — fire / repeat / resolve, decided purely
- :mod:`.incidents` — incidents in the record store, one notification per step
- :mod:`.notifiers`, :mod:`.delivery`, :mod:`.actions`, :mod:`.auto_disable` — the actions
- :mod:`.service` — the schedule, the evaluator lease, the admin view
"""

from __future__ import annotations

from llm_gateway.alerts.incidents import IncidentStore
from llm_gateway.alerts.rules import AlertRule, AlertRules, load_rules
from llm_gateway.alerts.service import AlertService
from llm_gateway.audit import AuditLog
from llm_gateway.gateway import LLMGateway
from llm_gateway.settings import Settings

__all__ = ["AlertRule", "AlertRules", "AlertService", "load_rules", "open_alerts"]


async def open_alerts(
    settings: Settings, gateway: LLMGateway, audit: AuditLog | None
) -> AlertService:
    """The serving gateway's alert service, started, as ``gateway.alerts``."""
    records = gateway.records
    incidents = IncidentStore(records.store) if records is not None else None
    service = AlertService(settings, gateway, incidents, audit)
    gateway.alerts = service
    await service.start()
    return service
