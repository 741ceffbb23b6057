"""What an upstream's rate-limit headers say about when to call it again.

OpenAI (and the OpenAI-compatible servers that copy it) send ``x-ratelimit-remaining-requests``
/ ``-tokens`` with ``x-ratelimit-reset-requests`` / ``-tokens`` as durations (``1s``, ``6m0s``,
``20ms``); OpenRouter sends ``x-ratelimit-remaining`` with ``x-ratelimit-reset`` as epoch
milliseconds. When one of them says nothing is left, the model cools down until its reset.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping

PAIRS = (
    ("x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"),
    ("x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"),
    ("x-ratelimit-remaining", "x-ratelimit-reset"),
)
HEADERS = tuple(name for pair in PAIRS for name in pair)
UNKNOWN_RESET_S = 1.0  # nothing left and no reset given
MAX_WAIT_S = 300.0

_DURATION = re.compile(
    r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$"
)


def exhausted_wait(
    headers: Mapping[str, str], now: Callable[[], float] = time.time
) -> float | None:
    """Seconds until the upstream has capacity again when a ``remaining`` header is 0; None
    when none is (or none is sent)."""
    waits = []
    for remaining, reset in PAIRS:
        left = headers.get(remaining)
        if left is None or _number(left) != 0:
            continue
        waits.append(reset_seconds(headers.get(reset), now) or UNKNOWN_RESET_S)
    return min(max(waits), MAX_WAIT_S) if waits else None


def reset_seconds(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """A reset header as seconds from now: a duration (``6m0s``), seconds, or an epoch time in
    seconds or milliseconds. None when unreadable."""
    if not value:
        return None
    text = value.strip()
    number = _number(text)
    if number is not None:
        if number > 1e11:  # epoch milliseconds
            return max(0.0, number / 1000 - now())
        if number > 1e9:  # epoch seconds
            return max(0.0, number - now())
        return max(0.0, number)
    match = _DURATION.match(text)
    if match is None or not any(match.groups()):
        return None
    hours, minutes, seconds, millis = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value else None
