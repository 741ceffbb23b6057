"""Shadow traffic: a share of the legacy calls that take v1 also run through v2, in the
background, and both outcomes are compared and recorded.

    caller ── v1 (the named model, direct) ──────────────► the caller's answer, as it was
                 └─ once v1 is done, in the background:
                    v2 (the gateway, the purpose's node; ledger arm "shadow")
                    → ShadowComparison row (similarity, lengths, latencies, costs, failures)

The caller is never touched: its answer (or its error) is v1's, returned before the shadow even
starts, so a slow or failing v2 changes neither what it gets nor when. Shadows are bounded:
at most ``GATEWAY_V2_SHADOW_CONCURRENCY`` in flight (one more is dropped and counted, never
queued) and ``GATEWAY_V2_SHADOW_BUDGET_USD`` of spend a day (:mod:`.shadow_budget`). A shadow
is not caller traffic: it runs without the caller's user (no per-user budget, no per-user
ledger rows), under its own trace id, and its ledger row has arm ``shadow``. v2 is asked for a
whole answer even when the caller streamed (its latency is then to the whole answer, like
v1's, which is measured to its last chunk).

A v1 stream the caller abandons is not shadowed (there is no whole v1 answer to compare).

The parts: :mod:`.shadow_backend` (the v1 side, in the legacy shim), this runner (decision,
bounds, the v2 run, the comparison), :mod:`.shadow_budget` (share and spend),
:mod:`.shadow_sink` (where rows go), :mod:`.shadow_summary` (the evidence per node),
:mod:`.shadow_metrics` (Prometheus), :mod:`llm_gateway.similarity` (the measure).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from llm_gateway.errors import GatewayError
from llm_gateway.request_info import new_trace_id
from llm_gateway.rollout.shadow_budget import ShadowBudget, in_shadow_share, shadow_percentage
from llm_gateway.rollout.shadow_sink import OwnStoreSink, sink_for
from llm_gateway.rollout.shadow_text import output_text
from llm_gateway.settings import get_settings
from llm_gateway.similarity import similarity
from llm_gateway.storage.records import utc_from_timestamp
from llm_gateway.storage.shadow_rows import SHADOW_ARM, ShadowComparison

if TYPE_CHECKING:
    from llm_gateway.gateway import LLMGateway

logger = logging.getLogger("llm_gateway.rollout.shadow")

DROP_REASONS = ("budget", "concurrency")  # why a shadow was not run
RECENT_ROWS = 200  # kept in memory for the admin API when there is no record store
_ERROR_CHARS = 256


@dataclasses.dataclass(slots=True)
class V1Outcome:
    """What the caller got from v1."""

    model: str
    trace_id: str | None
    latency_ms: float
    text: str | None = None  # None: v1 failed
    cost: Decimal | None = None
    error: str | None = None
    stream: bool = False


class ShadowRunner:
    """One gateway's shadow calls: the decision, the bounds, the runs and their counts."""

    def __init__(self, gateway: LLMGateway, budget: ShadowBudget | None = None) -> None:
        self._gateway = weakref.ref(gateway)
        self.budget = budget or ShadowBudget()
        self._lock = threading.Lock()
        self.in_flight = 0
        self.dropped: Counter[str] = Counter()  # reason → shadows not run
        self.runs: Counter[tuple[str, str]] = Counter()  # (node, ok|error) → shadows run
        self.similarity_sum: dict[str, float] = {}
        self.similarity_count: Counter[str] = Counter()
        self.spent_total = Decimal(0)
        self.recent: deque[ShadowComparison] = deque(maxlen=RECENT_ROWS)
        self._tasks: set[asyncio.Task[None]] = set()
        self.own_sink: OwnStoreSink | None = None

    @property
    def gateway(self) -> LLMGateway | None:
        """The gateway the shadows run on (None once it is gone)."""
        return self._gateway()

    # -- settings (read per call: the flags change at run time) --------------------------------

    @property
    def percentage(self) -> int:
        return shadow_percentage(get_settings(), self.gateway)

    @property
    def cap(self) -> Decimal:
        return Decimal(str(get_settings().GATEWAY_V2_SHADOW_BUDGET_USD))

    @property
    def concurrency(self) -> int:
        return int(get_settings().GATEWAY_V2_SHADOW_CONCURRENCY)

    # -- the decision -----------------------------------------------------------------------

    def wants(self, key: str | None) -> bool:
        """True when a v1 call with ``key`` (user, else trace id) is in the shadow share."""
        return in_shadow_share(key, self.percentage)

    def launch(self, body: Mapping[str, Any], node: str, purpose: str, v1: V1Outcome) -> bool:
        """Run the shadow of a finished v1 call in the background, if the bounds allow: False
        (and counted in ``dropped``) when the concurrency bound or the budget refuses."""
        self.observe_recorded()
        with self._lock:
            if self.in_flight >= self.concurrency:
                self.dropped["concurrency"] += 1
                return False
            reserved = self.budget.try_reserve(self.cap)
            if reserved is None:
                self.dropped["budget"] += 1
                return False
            self.in_flight += 1
        task = asyncio.get_running_loop().create_task(
            self._run(dict(body), node, purpose, v1, reserved), name="llm-gateway-shadow"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait (up to ``timeout_s``) for the shadows in flight on this loop (tests, shutdown)."""
        tasks = [t for t in self._tasks if t.get_loop() is asyncio.get_running_loop()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)

    # -- one shadow ---------------------------------------------------------------------------

    async def _run(
        self, body: dict[str, Any], node: str, purpose: str, v1: V1Outcome, reserved: Decimal
    ) -> None:
        cost = Decimal(0)
        try:
            row = await self._compare(body, node, purpose, v1)
            cost = Decimal(str(row.v2_cost_usd or 0))
            self._record(row)
        except asyncio.CancelledError:
            raise
        except Exception:  # never let a shadow's bug reach anyone: said, counted
            logger.exception("shadow run for node %s failed", node)
            with self._lock:
                self.runs[(node, "error")] += 1
        finally:
            self.budget.settle(reserved, cost)
            with self._lock:
                self.in_flight -= 1
                self.spent_total += cost

    async def _compare(
        self, body: dict[str, Any], node: str, purpose: str, v1: V1Outcome
    ) -> ShadowComparison:
        gateway = self._gateway()
        if gateway is None:
            raise RuntimeError("the gateway of this shadow runner is gone")
        row = ShadowComparison(
            id=new_trace_id(),
            at=utc_from_timestamp(time.time()),
            node=node[:128],
            purpose=purpose[:128],
            stream=v1.stream,
            v1_model=v1.model[:128],
            v1_trace_id=v1.trace_id,
            v1_latency_ms=round(v1.latency_ms, 3),
            v1_cost_usd=v1.cost,
            v1_ok=v1.text is not None,
            v1_error=v1.error[:_ERROR_CHARS] if v1.error else None,
            v1_output_chars=len(v1.text) if v1.text is not None else None,
            v2_ok=False,
        )
        request = _shadow_body(body)
        trace_id = new_trace_id()
        row.v2_trace_id = trace_id
        started = time.monotonic()
        try:
            answer = await _call_v2(gateway, request, node, trace_id)
        except GatewayError as error:
            row.v2_latency_ms = round((time.monotonic() - started) * 1000, 3)
            row.v2_error = f"{error.error_type}: {error}"[:_ERROR_CHARS]
            return row
        row.v2_latency_ms = round((time.monotonic() - started) * 1000, 3)
        text = output_text(answer.body)
        row.v2_ok = True
        row.v2_model = answer.model.logical_id
        row.v2_cost_usd = answer.cost.total
        row.v2_output_chars = len(text)
        if v1.text is not None:
            row.similarity = similarity(v1.text, text)
        return row

    def _record(self, row: ShadowComparison) -> None:
        with self._lock:
            self.runs[(row.node, "ok" if row.v2_ok else "error")] += 1
            if row.similarity is not None:
                total = self.similarity_sum.get(row.node, 0.0)
                self.similarity_sum[row.node] = total + row.similarity
                self.similarity_count[row.node] += 1
            self.recent.append(row)
        sink = sink_for(self._gateway(), self._own_store())
        if sink is not None:
            sink.offer(row)

    def observe_recorded(self) -> None:
        """Count the day's shadow spend the record store had at its last delivery."""
        sink = sink_for(self._gateway(), self.own_sink)
        queue = getattr(sink, "queue", sink)  # the writer's queue, or the own store's
        recorded = getattr(queue, "recorded", None)
        if recorded is not None:
            self.budget.observe_recorded(*recorded)

    def _own_store(self) -> OwnStoreSink | None:
        """The store this process writes comparisons to when no record store is attached
        (``DATABASE_URL`` set; see :mod:`.shadow_sink`)."""
        gateway = self._gateway()
        if self.own_sink is None and gateway is not None and gateway.records is None:
            url = gateway.settings.database_url
            if url:
                self.own_sink = OwnStoreSink(url)
        return self.own_sink


async def _call_v2(gateway: LLMGateway, body: dict[str, Any], node: str, trace_id: str) -> Any:
    """The request through the gateway for ``node``, as shadow traffic (arm ``shadow``)."""
    from llm_gateway.routes.chat_request import validate_chat_body

    validate_chat_body(body, gateway)
    route = gateway.resolve_route(body.get("model"), node=node, trace_id=trace_id)
    return await gateway.complete(body, dataclasses.replace(route, arm=SHADOW_ARM))


def _shadow_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """The caller's request for v2: selection by the node (``auto``), a whole answer, no user."""
    request = {k: v for k, v in body.items() if k not in ("stream", "stream_options", "user")}
    request["model"] = "auto"
    return request


_RUNNERS: weakref.WeakKeyDictionary[Any, ShadowRunner] = weakref.WeakKeyDictionary()
_RUNNERS_LOCK = threading.Lock()


def shadow_runner(gateway: LLMGateway) -> ShadowRunner:
    """The shadow runner of ``gateway`` (made on first use, with its Prometheus metrics)."""
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(gateway)
        if runner is None:
            from llm_gateway.rollout.shadow_metrics import shadow_families

            runner = _RUNNERS[gateway] = ShadowRunner(gateway)
            gateway.metrics.add_collector(lambda: shadow_families(runner))
        return runner
