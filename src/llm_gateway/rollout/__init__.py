"""Rollout and rollback of the gateway (v2) for legacy calls (v1: the named model, direct).

- :mod:`.switch` — the master switch's two names
- :mod:`.flags` — the flags' model, their env defaults and the live, shared values
- :mod:`.bucketing` — sticky buckets of a stable key
- :mod:`.arm` — the v1/v2 decision of one request
- :mod:`.guard_rules`, :mod:`.guard` — the rollback guard (rules, evaluation, stepping down)
- :mod:`.runtime` — wiring into a serving app (follower of the control plane, guard task)
- :mod:`.v1_record` — the legacy path's ledger row and trace (arm ``v1``)
- :mod:`.evidence` — each arm's error rate, p95 latency and cost per request, from the ledger
- :mod:`.shadow` and its kin — shadow traffic (v1 calls also run through v2, compared)
"""

from llm_gateway.rollout.arm import Arm, choose_arm, v2_switch_on
from llm_gateway.rollout.flags import (
    LiveFlags,
    RolloutFlags,
    current_flags,
    flags_from_settings,
    live_flags,
    set_live_flags,
)

__all__ = [
    "Arm",
    "LiveFlags",
    "RolloutFlags",
    "choose_arm",
    "current_flags",
    "flags_from_settings",
    "live_flags",
    "set_live_flags",
    "v2_switch_on",
]
