"""What a deployment keeps in Redis, by family: key count, bytes, and how many keys have no
TTL (only the bounded families may: the control state, the replica set). For
``llm-gateway redis-stats`` and the bounds tests."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

# Families whose keys may live without a TTL because their size is fixed by construction.
BOUNDED_WITHOUT_TTL = frozenset({"control", "replicas"})


@dataclass(slots=True)
class Family:
    name: str
    keys: int = 0
    bytes: int = 0
    without_ttl: int = 0


async def redis_usage(client: Any, tag: str, *, sample_memory: int = 200) -> dict[str, Family]:
    """Scan every key under ``tag`` (``{prefix}``); memory measured on up to ``sample_memory``
    keys per family and scaled to the family's count."""
    families: dict[str, Family] = {}
    sampled: defaultdict[str, list[int]] = defaultdict(list)
    async for key in client.scan_iter(match=f"{tag}:*", count=1000):
        name = key.split(":", 2)[1] if key.count(":") >= 1 else key
        family = families.setdefault(name, Family(name))
        family.keys += 1
        if await client.ttl(key) == -1:
            family.without_ttl += 1
        if len(sampled[name]) < sample_memory:
            sampled[name].append(int(await client.memory_usage(key) or 0))
    for name, family in families.items():
        sizes = sampled[name]
        if sizes:
            family.bytes = int(sum(sizes) / len(sizes) * family.keys)
    return families
