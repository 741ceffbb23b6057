"""The answers a budget gives a request it does not let in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from llm_gateway.budgets.config import usd
from llm_gateway.errors import BudgetExceeded, GatewayError

if TYPE_CHECKING:
    from llm_gateway.budgets.local import LocalCounter


class BudgetRefused(BudgetExceeded):
    """429 ``budget_exceeded``: admitting the request could take ``scope`` past its cap for the
    period. Amounts are decimal USD strings; ``reset_at`` is when the period's counter resets."""

    def __init__(
        self,
        *,
        scope: str,
        period: str,
        cap: str,
        spent: str,
        reserved: str,
        estimate: str,
        reset_at: float,
        detail: str = "",
    ) -> None:
        self.scope = scope
        self.period = period
        self.cap = cap
        self.spent = spent
        self.reserved = reserved
        self.estimate = estimate
        self.reset_at = reset_at
        when = datetime.fromtimestamp(reset_at, UTC).isoformat(timespec="seconds")
        super().__init__(
            f"budget {scope} ({period}) would be exceeded: cap {cap} USD, spent {spent}, "
            f"reserved {reserved}, this request up to {estimate}; resets at {when}{detail}",
            param="budget",
        )

    @property
    def retry_after(self) -> float:
        return max(1.0, self.reset_at - datetime.now(UTC).timestamp())

    def extra(self) -> dict[str, Any]:
        return {
            "budget": {
                "scope": self.scope,
                "period": self.period,
                "currency": "USD",
                "cap": self.cap,
                "spent": self.spent,
                "reserved": self.reserved,
                "estimate": self.estimate,
                "reset_at": datetime.fromtimestamp(self.reset_at, UTC).isoformat(
                    timespec="seconds"
                ),
                "reset_in_s": round(self.retry_after),
            }
        }


class BudgetUnavailable(GatewayError):
    """503 ``budget_unavailable``: the shared budget counters cannot be reached and the fail
    mode is ``closed`` (or, in either mode, the counter was never read), so a budgeted request
    is refused."""

    status_code = 503
    error_type = "service_unavailable"
    code = "budget_unavailable"

    def __init__(self, scope: str, reason: str) -> None:
        super().__init__(
            f"budget {scope} cannot be checked ({reason}); budgeted requests are refused until "
            "the state store answers",
            param="budget",
        )
        self.scope = scope


def refused_by(counter: LocalCounter, estimate: int, detail: str = "") -> BudgetRefused:
    """The refusal of a request whose ``estimate`` (units) ``counter`` cannot take."""
    return BudgetRefused(
        scope=counter.scope,
        period=counter.period.value,
        cap=usd(counter.cap),
        spent=usd(counter.spent + counter.pending),
        reserved=usd(counter.others + counter.granted),
        estimate=usd(estimate),
        reset_at=counter.end_ts,
        detail=detail,
    )
