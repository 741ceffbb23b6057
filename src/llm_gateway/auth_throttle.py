"""Throttling repeated failed authentication, per client address and per presented credential.

Each client address (and each wrong credential, by digest) has a token bucket of
``burst`` failures refilled at ``per_second``: a caller who mistypes a key is never noticed, a
client that keeps presenting wrong tokens is answered **429** with ``Retry-After`` once its bucket
is empty. A valid credential is always served and never counted, so valid callers — even from an
address being throttled — are not slowed. One WARNING line marks the start of each burst of
throttling for an address, not one per request.

Memory is bounded by construction: at most ``max_entries`` buckets, least recently failed first
out; a full, idle bucket carries no information and is dropped.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from llm_gateway.errors import RateLimited

logger = logging.getLogger("llm_gateway.auth")


class AuthThrottled(RateLimited):
    """429: too many failed authentications from this client; ``retry_after`` in seconds."""

    code = "too_many_failed_auth"

    def __init__(self, retry_after: float) -> None:
        super().__init__(
            "too many failed authentication attempts from this client; retry later",
        )
        self.retry_after = retry_after


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    throttled: bool = False


class FailedAuthThrottle:
    """``check(keys)`` before answering a failure; ``failed(keys)`` to count one."""

    def __init__(
        self,
        *,
        burst: int = 10,
        per_second: float = 1.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.per_second = per_second
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def failed(self, *keys: str) -> None:
        """Count one failure against each key; raise AuthThrottled when any has no budget."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                wait = max(wait, self._spend(key, now))
        if wait > 0:
            raise AuthThrottled(retry_after=wait)

    def _spend(self, key: str, now: float) -> float:
        bucket = self._buckets.pop(key, None) or _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.per_second)
        bucket.at = now
        self._buckets[key] = bucket
        while len(self._buckets) > self.max_entries:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            if bucket.tokens >= self.burst - 1:
                bucket.throttled = False  # refilled since the last burst
            return 0.0
        if not bucket.throttled:
            bucket.throttled = True
            logger.warning(
                "throttling failed authentication from %s: more than %d failures", key, self.burst
            )
        return max(1.0, math.ceil((1 - bucket.tokens) / self.per_second))


def credential_key(presented: str | None) -> str:
    """A label for a presented credential: a short digest, never the credential."""
    digest = hashlib.sha256((presented or "").encode()).hexdigest()[:12]
    return f"credential:{digest}"
