"""The served gateway's side of remote v1 reports: records of legacy calls made elsewhere,
written to this gateway's ledger and traces as if the calls had been made here.

:meth:`V1Intake.accept` takes a validated batch
(:class:`~llm_gateway.rollout.v1_wire.V1RecordBatch`) and, all or nothing, checks each
record against this gateway: its model must be in the catalogue (a logical id, or a provider
model id), its node known (an entry, a pattern entry it matches, or ``default``), its time
neither ahead of this clock by more than :data:`MAX_AHEAD_S` nor older than the ledger keeps
(``GATEWAY_LEDGER_RETENTION_DAYS``) — else :class:`~llm_gateway.errors.ValidationFailed`
(422) naming ``records[i].<field>``.

Then each record not seen before (ids stored exactly once: the ids of this replica's recent
records in memory, the ledger asked for the others, the ledger's insert skipping ids it has) is
written: a ledger row through the :class:`~llm_gateway.storage.writer.RecordWriter` (``arm``
forced to ``v1``, the node labelled by this catalogue, the provider this catalogue names, the
caller's client key) and a trace through the tracer (sampled like any other; ``request_id`` is
the record id). Cost:

- ``cost_source`` ``policy`` (list prices): recomputed here from this catalogue's prices for the
  reported tokens — the gateway's prices are the ones its reports use;
- ``provider``: kept as reported (what the provider said it charged; the gateway cannot know
  better), with the parts from list prices as for its own requests;
- ``none``, or a failed request: zero (failed requests are not billed).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from llm_gateway.config.catalog import DEFAULT_NODE, Catalog
from llm_gateway.cost import ZERO_COST, CostBreakdown, compute_cost
from llm_gateway.errors import ValidationFailed, echo
from llm_gateway.model_policy import ModelPolicy
from llm_gateway.providers.base import Usage
from llm_gateway.rollout.v1_record import V1Call, write_v1
from llm_gateway.rollout.v1_wire import V1Record, V1RecordBatch
from llm_gateway.storage.queries import ledger_ids_stored
from llm_gateway.storage.store import reason

if TYPE_CHECKING:
    from llm_gateway.gateway import LLMGateway

logger = logging.getLogger("llm_gateway.rollout")

MAX_AHEAD_S = 300.0
RECENT_IDS = 100_000
LOOKUP_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class IntakeResult:
    accepted: int  # new records, written
    duplicates: int  # ids stored already (or twice in the batch): not written again


class RecentIds:
    """The last ``bound`` ids claimed, for the duplicate check before the ledger has them."""

    def __init__(self, bound: int = RECENT_IDS) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._bound = bound

    def claim(self, record_id: str) -> bool:
        """True when ``record_id`` was not claimed yet (it is now)."""
        if record_id in self._ids:
            return False
        self._ids[record_id] = None
        if len(self._ids) > self._bound:
            self._ids.popitem(last=False)
        return True

    def release(self, record_id: str) -> None:
        self._ids.pop(record_id, None)


class V1Intake:
    """One gateway's intake of remote v1 records (:func:`v1_intake_of`)."""

    def __init__(self, gateway: LLMGateway) -> None:
        self.gateway = gateway
        self.recent = RecentIds()
        self._lookup_failing = False

    async def accept(self, batch: V1RecordBatch, client_key: str | None) -> IntakeResult:
        """Check every record (422 on the first bad one, nothing written), then write the new
        ones; raises :class:`~llm_gateway.errors.ValidationFailed`."""
        catalog = self.gateway.registry.catalog
        now = datetime.now(UTC)
        oldest = now - timedelta(days=self.gateway.settings.GATEWAY_LEDGER_RETENTION_DAYS)
        checked = [
            (record, self._check(index, record, catalog, now, oldest))
            for index, record in enumerate(batch.records)
        ]
        claimed = [(r, p) for r, p in checked if self.recent.claim(r.id)]
        written: set[str] = set()
        try:
            for record, policy in await self._not_stored(claimed):
                await self._write(record, policy, catalog, client_key)
                written.add(record.id)
        except BaseException:
            for record, _ in claimed:  # not written: a resend must not be taken for a duplicate
                if record.id not in written:
                    self.recent.release(record.id)
            raise
        return IntakeResult(accepted=len(written), duplicates=len(checked) - len(written))

    def _check(
        self, index: int, record: V1Record, catalog: Catalog, now: datetime, oldest: datetime
    ) -> ModelPolicy:
        where = f"records[{index}]"
        policy = catalog.policies.get(record.model) or next(
            (p for p in catalog.policies.values() if p.provider_model_id == record.model), None
        )
        if policy is None:
            raise _invalid(
                f"{where}.model",
                f"'{echo(record.model)}' is not a model of this gateway's catalogue",
                "unknown_model",
            )
        if record.node != DEFAULT_NODE and catalog.node_requirements(record.node) is None:
            raise _invalid(
                f"{where}.node",
                f"'{echo(record.node)}' is not a node of this gateway (node_requirements.yaml)",
                "unknown_node",
            )
        if record.at > now + timedelta(seconds=MAX_AHEAD_S):
            raise _invalid(f"{where}.at", "is in the future of this gateway's clock", "bad_time")
        if record.at < oldest:
            raise _invalid(f"{where}.at", "is older than the ledger keeps", "bad_time")
        return policy

    async def _not_stored(
        self, claimed: list[tuple[V1Record, ModelPolicy]]
    ) -> list[tuple[V1Record, ModelPolicy]]:
        """``claimed`` without the ids the ledger has (another replica took them, or this one
        before it restarted). A ledger that does not answer in time is not waited for: its
        insert skips what it has."""
        records = self.gateway.records
        if records is None or not claimed:
            return claimed
        ids = [r.id for r, _ in claimed]
        try:
            stored = await asyncio.wait_for(ledger_ids_stored(records.store, ids), LOOKUP_TIMEOUT_S)
        except Exception as exc:  # the store is down or slow: the writer spools the rows
            if not self._lookup_failing:
                logger.warning("v1 records: the ledger's ids cannot be read now (%s)", reason(exc))
            self._lookup_failing = True
            return claimed
        self._lookup_failing = False
        return [(r, p) for r, p in claimed if r.id not in stored]

    async def _write(
        self, record: V1Record, policy: ModelPolicy, catalog: Catalog, client_key: str | None
    ) -> None:
        gateway = self.gateway
        label = catalog.node_label(record.node)
        call = V1Call(
            node=record.node,
            policy=policy,
            trace_id=record.trace_id,
            user=record.user_id,
            usage=_usage(record),
            cost=settled_cost(record, policy),
            status=record.status,
            error_type=record.error_type,
            duration_ms=record.latency_ms,
            ttft_ms=record.ttft_ms,
            stream=record.stream,
        )
        row = dataclasses.replace(
            call.row(label), id=record.id, at=record.at, client_key_id=client_key
        )
        write_v1(gateway, call, label, row, reported=True)


def settled_cost(record: V1Record, policy: ModelPolicy) -> CostBreakdown:
    """What the request cost, by this gateway's rules (see the module's docstring)."""
    if record.status == "error" or record.cost_source == "none":
        return ZERO_COST
    usage = _usage(record)
    if record.cost_source == "provider":
        usage = dataclasses.replace(usage, cost=record.cost_usd)
    return compute_cost(usage, policy)


def _usage(record: V1Record) -> Usage:
    return Usage(
        prompt_tokens=record.input_tokens,
        completion_tokens=record.output_tokens,
        total_tokens=record.input_tokens + record.output_tokens,
        cached_prompt_tokens=record.cached_tokens,
        reasoning_tokens=record.reasoning_tokens,
    )


def _invalid(param: str, reason: str, code: str) -> ValidationFailed:
    return ValidationFailed(f"{param}: {reason}", param=param, code=code)


_INTAKES: weakref.WeakKeyDictionary[LLMGateway, V1Intake] = weakref.WeakKeyDictionary()


def v1_intake_of(gateway: LLMGateway) -> V1Intake:
    """The intake of ``gateway`` (made on first use; its recent ids live as long as it)."""
    intake = _INTAKES.get(gateway)
    if intake is None:
        intake = _INTAKES[gateway] = V1Intake(gateway)
    return intake
