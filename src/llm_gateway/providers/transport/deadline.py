"""An absolute instant by which a wait must end, and the message to raise when it passes.

Every wait of a provider is capped twice: by its own limit (headers, first token, stall) and by the
attempt's absolute ``deadline_at`` (``time.monotonic()`` terms). :meth:`Deadline.within` picks the
one that binds, so a timeout names the limit that actually expired. Transports receive Deadlines
and raise :class:`~llm_gateway.providers.transport.errors.DeadlinePassed` carrying the one that
passed; they never invent messages (the pool only adds that it had no free connection).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Deadline:
    """An absolute monotonic instant and the message to raise when it passes."""

    at: float
    message: str

    @classmethod
    def within(
        cls, start: float, limit_s: float, deadline_at: float, message: str, waiting_for: str
    ) -> Deadline:
        """``start + limit_s`` (raising ``message``), or the attempt deadline when that comes
        first (raising "attempt deadline reached while waiting for ``waiting_for``")."""
        own = start + limit_s
        if deadline_at < own:
            return cls(deadline_at, f"attempt deadline reached while waiting for {waiting_for}")
        return cls(own, message)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def timeout(self) -> asyncio.Timeout:
        """An ``async with`` block that raises TimeoutError at this instant (for rare waits: a
        connect, a free pool slot; per-chunk waits use one timer on the connection instead)."""
        return asyncio.timeout(max(self.remaining(), 0.0))
