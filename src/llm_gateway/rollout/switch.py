"""The master switch's two names, and what "on" means.

The migration guide names it ``ENABLE_GATEWAY_V2`` (its environment list) and
``GATEWAY_V2_ENABLED`` (its Phase 5 settings and its rollback). It is on only when one of them
is *set* to true and neither is set to false: off by default (v1 — today's behaviour), and
``export GATEWAY_V2_ENABLED=false`` rolls back even where ``ENABLE_GATEWAY_V2=true`` stays in
the environment. (``ENABLE_GATEWAY_V2``'s settings default, true, is not a choice anyone made,
so it does not turn v2 on.)
"""

from __future__ import annotations

from llm_gateway.settings import Settings

SWITCH_NAMES = ("GATEWAY_V2_ENABLED", "ENABLE_GATEWAY_V2")


def v2_switch_on(settings: Settings) -> bool:
    """True when the master switch is on in the environment (see the module docstring)."""
    chosen = [bool(getattr(settings, n)) for n in SWITCH_NAMES if n in settings.model_fields_set]
    return bool(chosen) and all(chosen)
