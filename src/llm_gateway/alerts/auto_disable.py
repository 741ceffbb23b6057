"""``auto_disable_model``: take a failing model out of selection on every replica, and bring it
back after a recovery probe.

Disabling is the admin's own switch (``PUT /api/admin/gateway/models/{model}``), made by the
gateway: written to the record store with an audit entry (actor ``alert:<rule>``), shared
through the control state so every replica stops selecting the model, shown in health and
``GET /models``. An admin enables it again with the same endpoint; with ``recover_after`` the
evaluator itself sends the model one tiny request every ``recover_after`` and enables it when
that succeeds.
"""

from __future__ import annotations

import time
from typing import Any

from llm_gateway.audit import AuditLog
from llm_gateway.errors import GatewayError
from llm_gateway.model_policy import DEFAULT_DEADLINES
from llm_gateway.providers.base import ProviderRequest
from llm_gateway.routes.admin_changes import DISABLED, share_change

PROBE_TIMEOUT_S = 30.0


def is_disabled(gateway: Any, model: str) -> bool:
    return model in gateway.signals.snapshot().disabled


async def switch_model(
    gateway: Any, audit: AuditLog | None, model: str, *, enabled: bool, actor: str, reason: str
) -> dict[str, Any]:
    """Disable or enable ``model`` everywhere (durable, audited); how many replicas applied it."""
    entry = AuditLog.make_entry(
        actor=actor,
        action="model.enable" if enabled else "model.disable",
        target=model,
        before={"enabled": not enabled},
        after={"enabled": enabled},
        detail=reason,
    )
    value = None if enabled else {"disabled": True, "reason": reason, "by": actor}
    return await share_change(gateway, audit, gateway.control, [(DISABLED, model, value)], entry)


async def probe(gateway: Any, model: str) -> str | None:
    """One request of one token straight to the model's provider (no selection, no fallback);
    None when it answered, else why not."""
    policy = gateway.registry.catalog.policies.get(model)
    if policy is None:
        return "no longer in the catalogue"
    request = ProviderRequest(
        body={
            "model": policy.provider_model_id,
            "messages": [{"role": "user", "content": "ping"}],
            "max_tokens": 1,
        },
        policy=policy,
        deadlines=policy.deadlines.merged_over(DEFAULT_DEADLINES),
        deadline_at=time.monotonic() + PROBE_TIMEOUT_S,
    )
    try:
        await gateway.providers.get(policy.provider).complete(request)
    except GatewayError as exc:
        return exc.message
    return None
