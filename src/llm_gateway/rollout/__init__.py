"""Which path a legacy call takes: v1 (the named model, direct) or v2 (the gateway).

Today only the master switch decides (:func:`choose_arm`); percentages, sticky bucketing and
runtime flags replace it here (issue 12, point 3).
"""

from llm_gateway.rollout.arm import Arm, choose_arm, v2_switch_on

__all__ = ["Arm", "choose_arm", "v2_switch_on"]
