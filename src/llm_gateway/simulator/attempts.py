"""The attempt log: one record per request the simulator received, in order, bounded."""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One received attempt. Header *values* are never kept for Authorization (only whether it
    was sent); ``fault`` names the injected fault or natural error applied (None: a clean
    answer); ``status`` is the HTTP status sent (0: none, e.g. reset or no response);
    ``attempt`` counts attempts per model, from 1; ``t`` is ``time.monotonic()`` at receipt."""

    t: float
    model: str | None
    stream: bool
    message_count: int
    prefill: bool
    messages_hash: str | None
    authorization: bool
    http_referer: str | None
    x_title: str | None
    provider: Any
    models: Any
    fault: str | None
    status: int
    attempt: int
    path: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class AttemptLog:
    """The last ``maxlen`` attempts (older ones are dropped so benchmarks stay bounded)."""

    def __init__(self, maxlen: int = 100_000) -> None:
        self._records: deque[AttemptRecord] = deque(maxlen=maxlen)

    def add(self, record: AttemptRecord) -> None:
        self._records.append(record)

    def snapshot(self, model: str | None = None) -> list[AttemptRecord]:
        """The records in arrival order, optionally only those of ``model``."""
        if model is None:
            return list(self._records)
        return [record for record in self._records if record.model == model]

    def clear(self) -> None:
        self._records.clear()

    def __len__(self) -> int:
        return len(self._records)
