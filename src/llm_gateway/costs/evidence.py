"""Quality evidence for a candidate model beyond the catalogue's declared quality.

:func:`shadow_evidence` is the hook for the shadow-traffic comparisons (issue 12, point 4):
the shadow helper's ``shadow_summary(...)`` is wired in here at merge. Until then it returns
None and the report says "no shadow comparisons" rather than inventing a number.
"""

from __future__ import annotations

from typing import Any


def shadow_evidence(node: str) -> dict[str, Any] | None:
    """The shadow comparisons recorded for ``node`` (similarity, length, latency, cost and
    failure figures of v2 against v1), or None when there are none."""
    return None
