"""Quality evidence for a node beyond the catalogue's declared quality: the shadow-traffic
comparisons (:mod:`llm_gateway.rollout.shadow_summary`) — how alike v2's outputs are to v1's,
and each arm's latency, cost per request, error rate and output length.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def shadow_evidence(
    node: str, summaries: Mapping[str, dict[str, Any]] | None = None
) -> dict[str, Any] | None:
    """The shadow comparisons recorded for ``node`` in ``summaries`` (``shadow_summary``'s
    ``{node: summary}``), or None when there are none — the report then says so rather than
    inventing a number."""
    if not summaries:
        return None
    return summaries.get(node)
