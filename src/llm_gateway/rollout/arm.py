"""The v1/v2 decision for one legacy request.

v2 when the master switch is on (:mod:`.switch`; live value: the flags) and the request's stable
key falls in the node's percentage (:mod:`.bucketing`); else v1. A request without a key (no
user, session or trace id) is bucketed on a fresh random key: it has no user to keep sticky.
"""

from __future__ import annotations

import uuid
from typing import Literal

from llm_gateway.rollout.bucketing import in_rollout
from llm_gateway.rollout.flags import RolloutFlags, current_flags, flags_from_settings
from llm_gateway.rollout.switch import SWITCH_NAMES, v2_switch_on
from llm_gateway.settings import Settings

Arm = Literal["v1", "v2"]
ROLLED_OUT_ARMS = ("v2", "shadow")  # the arms a request through the gateway can be on


def arm_of_header(value: str | None) -> str | None:
    """``X-Gateway-Arm`` as recorded: one of :data:`ROLLED_OUT_ARMS`, else None (bounded)."""
    return value if value in ROLLED_OUT_ARMS else None


__all__ = ["ROLLED_OUT_ARMS", "SWITCH_NAMES", "Arm", "arm_of_header", "choose_arm", "v2_switch_on"]


def choose_arm(
    purpose: str,
    key: str | None,
    settings: Settings | None = None,
    *,
    node: str | None = None,
    flags: RolloutFlags | None = None,
) -> Arm:
    """``"v2"`` or ``"v1"`` for a request of ``purpose`` (served as ``node`` on v2) by ``key``.

    The flags are ``flags`` if given, else those of ``settings`` if given (start-up defaults
    only), else the live flags of this process (:func:`~llm_gateway.rollout.current_flags`)."""
    if flags is None:
        flags = flags_from_settings(settings) if settings is not None else current_flags()
    percentage = flags.percentage_for(node)
    return "v2" if in_rollout(key or uuid.uuid4().hex, percentage) else "v1"
