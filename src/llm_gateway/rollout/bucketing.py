"""Sticky bucketing: a stable key (user or session id, else trace id) → one of 10,000 buckets.

The bucket is a hash of the key alone, so it is the same on every replica and across restarts,
and the same for every node: a key is on v2 at ``p`` % exactly when its bucket is below
``p x 100``. Raising the percentage only adds keys to v2 and lowering it only removes them, so a
user never flips back and forth while a rollout moves one way.
"""

from __future__ import annotations

import hashlib

BUCKETS = 10_000
_SALT = b"llm-gateway-rollout:"


def bucket_of(key: str) -> int:
    """The key's bucket, 0 ≤ b < :data:`BUCKETS` (blake2b: fast, uniform, stable)."""
    digest = hashlib.blake2b(_SALT + key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def in_rollout(key: str, percentage: int) -> bool:
    """Whether ``key`` is among the first ``percentage`` % of buckets (0 and 100 exact)."""
    if percentage <= 0:
        return False
    if percentage >= 100:
        return True
    return bucket_of(key) < percentage * (BUCKETS // 100)
