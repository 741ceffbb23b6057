"""What a scorecard run produced: one :class:`CellResult` per cell and mode, the hostile-input
results, and the whole :class:`Scorecard`."""

from __future__ import annotations

from dataclasses import dataclass, field

from llm_gateway.faults.cells import Pace
from llm_gateway.faults.hostile import HostileResult


@dataclass(frozen=True, slots=True)
class CellResult:
    """One scored cell, ready to print."""

    key: str
    title: str
    mode: str
    best: str
    caller: str
    upstream: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"


@dataclass(frozen=True, slots=True)
class Scorecard:
    pace: Pace
    results: list[CellResult]
    hostile: list[HostileResult]
    elapsed_s: float

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[str]:
        """``"<cell> (<mode>): <problems>"`` for every failed cell and hostile case."""
        failed = [f"{r.title} ({r.mode}): {'; '.join(r.problems)}" for r in self.results]
        failed = [line for line, r in zip(failed, self.results, strict=True) if not r.passed]
        failed += [
            f"hostile {h.name}: {'; '.join(h.problems)}" for h in self.hostile if not h.passed
        ]
        return failed
