"""Shadow traffic on the legacy shim: the caller's answer and timing are v1's alone, the shadow
runs v2 afterwards in the background, bounded in concurrency and spend, and both outcomes are
compared and recorded (the comparison row; the v2 call's ledger row has arm ``shadow``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from tests.shadow.conftest import V1_MODEL, V1_PROVIDER_MODEL, drain

from llm_gateway.errors import ProviderUnavailable
from llm_gateway.gateway import LLMGateway
from llm_gateway.llm_service import get_llm_client
from llm_gateway.node_integration.loop_thread import background_loop
from llm_gateway.rollout.shadow import ShadowRunner
from llm_gateway.simulator.testing import SimulatorHandle
from llm_gateway.storage.schema import ledger, shadow_comparisons

PROMPT = "Write two sentences about the sea."


def _rows(gateway: LLMGateway, table: Any) -> list[dict[str, Any]]:
    records = gateway.records
    assert records is not None

    async def read() -> list[dict[str, Any]]:
        await records.writer.flush()
        async with records.store.engine.connect() as connection:
            return [dict(r) for r in (await connection.execute(select(table))).mappings()]

    return background_loop().run(read())


def _v2_attempts(sim: SimulatorHandle) -> list[str]:
    return [a.model for a in sim.attempts() if a.model != V1_PROVIDER_MODEL]


def test_the_caller_gets_v1s_answer_before_the_slow_shadow_ends(
    sim: SimulatorHandle, gateway: LLMGateway, runner: ShadowRunner, shadow_env: Any
) -> None:
    client = get_llm_client("writing", V1_MODEL, user="reader-1")
    shadow_env(GATEWAY_V2_SHADOW_PERCENTAGE=0)
    without = client.invoke(PROMPT)
    assert runner.in_flight == 0 and _v2_attempts(sim) == []

    shadow_env(GATEWAY_V2_SHADOW_PERCENTAGE=100)
    with_shadow = client.invoke(PROMPT)
    # v2 answers only after V2_DELAY_S: the caller has its answer while the shadow still runs
    assert runner.in_flight == 1
    assert _rows(gateway, shadow_comparisons) == []
    assert with_shadow.content == without.content
    assert with_shadow.content == sim.answer_for([{"role": "user", "content": PROMPT}])
    for meta in (without.response_metadata, with_shadow.response_metadata):
        assert meta["gateway_arm"] == "v1" and meta["model_name"] == V1_MODEL

    drain(runner)
    assert runner.in_flight == 0
    (row,) = _rows(gateway, shadow_comparisons)
    assert row["arm"] == "shadow" and row["node"] == "writer" and row["purpose"] == "writing"
    assert row["v1_model"] == V1_MODEL and row["v1_ok"] and row["v2_ok"]
    assert row["v2_model"] not in (None, V1_MODEL)
    assert row["v1_output_chars"] == len(str(without.content))
    assert row["v2_latency_ms"] > row["v1_latency_ms"]
    assert 0.0 <= row["similarity"] <= 1.0
    assert row["v2_cost_usd"] > 0 and row["v1_cost_usd"] > 0

    shadow_rows = [r for r in _rows(gateway, ledger) if r["arm"] == "shadow"]
    assert [r["trace_id"] for r in shadow_rows] == [row["v2_trace_id"]]
    assert shadow_rows[0]["user_id"] is None  # not the caller's traffic: no per-user spend
    assert shadow_rows[0]["model"] == row["v2_model"]
    assert Decimal(shadow_rows[0]["cost_usd"]) == Decimal(row["v2_cost_usd"])


def test_a_streamed_v1_call_is_shadowed_with_the_same_chunks(
    sim: SimulatorHandle, gateway: LLMGateway, runner: ShadowRunner, shadow_env: Any
) -> None:
    client = get_llm_client("writing", V1_MODEL, trace_id="stream-shadow-1")
    shadow_env(GATEWAY_V2_SHADOW_PERCENTAGE=0)
    plain = [c.content for c in client.stream(PROMPT)]
    shadow_env(GATEWAY_V2_SHADOW_PERCENTAGE=100)
    shadowed = [c.content for c in client.stream(PROMPT)]
    assert shadowed == plain and len([c for c in plain if c]) > 1
    assert runner.in_flight == 1
    drain(runner)
    (row,) = _rows(gateway, shadow_comparisons)
    assert row["stream"] and row["v1_trace_id"] == "stream-shadow-1"
    assert row["v1_output_chars"] == len("".join(str(c) for c in plain))
    assert row["v1_cost_usd"] is not None and row["v2_ok"]


def test_a_failing_v2_is_recorded_and_the_caller_never_sees_it(
    sim: SimulatorHandle, gateway: LLMGateway, runner: ShadowRunner, shadow_env: Any
) -> None:
    sim.set_scenario(
        {
            "zero_latency": True,
            "models": {
                "*": {"faults": [{"kind": "error", "status": 400}]},
                V1_PROVIDER_MODEL: {"faults": []},
            },
        }
    )
    shadow_env(GATEWAY_V2_SHADOW_PERCENTAGE=100)
    answer = get_llm_client("writing", V1_MODEL).invoke(PROMPT)
    assert answer.content == sim.answer_for([{"role": "user", "content": PROMPT}])
    drain(runner)
    (row,) = _rows(gateway, shadow_comparisons)
    assert row["v1_ok"] and not row["v2_ok"] and row["similarity"] is None
    assert row["v2_error"]
    assert runner.runs[("writer", "error")] == 1


def test_a_failing_v1_still_fails_the_caller_and_is_compared(
    sim: SimulatorHandle, gateway: LLMGateway, runner: ShadowRunner, shadow_env: Any
) -> None:
    sim.set_scenario(
        {
            "zero_latency": True,
            "models": {V1_PROVIDER_MODEL: {"faults": [{"kind": "error", "status": 503}]}},
        }
    )
    shadow_env(GATEWAY_V2_SHADOW_PERCENTAGE=100)
    with pytest.raises(ProviderUnavailable):  # the provider's error, as without shadow traffic
        get_llm_client("writing", V1_MODEL).invoke(PROMPT)
    drain(runner)
    (row,) = _rows(gateway, shadow_comparisons)
    assert not row["v1_ok"] and row["v1_error"] and row["v2_ok"]


def test_the_concurrency_bound_drops_and_counts(
    sim: SimulatorHandle, gateway: LLMGateway, runner: ShadowRunner, shadow_env: Any
) -> None:
    shadow_env(GATEWAY_V2_SHADOW_PERCENTAGE=100, GATEWAY_V2_SHADOW_CONCURRENCY=2)
    answers = [
        get_llm_client("writing", V1_MODEL, user=f"u{i}").invoke(PROMPT).content for i in range(5)
    ]
    assert len(set(answers)) == 1
    assert runner.in_flight == 2 and runner.dropped["concurrency"] == 3
    drain(runner)
    assert len(_rows(gateway, shadow_comparisons)) == 2
    assert len(_v2_attempts(sim)) == 2  # the dropped ones never reached an upstream


def test_the_budget_cap_stops_shadowing(
    sim: SimulatorHandle, gateway: LLMGateway, runner: ShadowRunner, shadow_env: Any
) -> None:
    sim.set_scenario({"zero_latency": True})
    shadow_env(GATEWAY_V2_SHADOW_PERCENTAGE=100, GATEWAY_V2_SHADOW_BUDGET_USD=100)
    client = get_llm_client("writing", V1_MODEL, user="budget-user")
    client.invoke(PROMPT)
    drain(runner)
    one = runner.budget.spent
    assert one > 0
    cap = one * Decimal("2.5")  # room for one more call of the same cost, not two
    shadow_env(GATEWAY_V2_SHADOW_BUDGET_USD=str(cap))
    for _ in range(6):
        client.invoke(PROMPT)
        drain(runner)
    assert runner.budget.spent == one * 2 <= cap
    assert runner.dropped["budget"] == 5
    assert len(_rows(gateway, shadow_comparisons)) == 2
    assert len(_v2_attempts(sim)) == 2


def test_the_share_is_sticky_by_user(
    sim: SimulatorHandle, gateway: LLMGateway, runner: ShadowRunner, shadow_env: Any
) -> None:
    sim.set_scenario({"zero_latency": True})
    shadow_env(GATEWAY_V2_SHADOW_PERCENTAGE=50)
    users = [f"sticky-{i}" for i in range(12)]
    for _ in range(2):
        for user in users:
            get_llm_client("writing", V1_MODEL, user=user).invoke(PROMPT)
        drain(runner)
    rows = _rows(gateway, shadow_comparisons)
    shadowed = [u for u in users if runner.wants(u)]
    assert 0 < len(shadowed) < len(users)  # 50 % of 12: neither none nor all (this key set)
    assert len(rows) == 2 * len(shadowed)  # each shadowed user both times, the others never


def test_the_budget_counts_every_replicas_recorded_spend(
    sim: SimulatorHandle, gateway: LLMGateway, runner: ShadowRunner, shadow_env: Any
) -> None:
    """Another replica's shadows of today, in the record store, count against the cap."""
    from datetime import UTC, datetime

    from llm_gateway.storage.shadow_rows import ShadowComparison, insert_comparisons

    sim.set_scenario({"zero_latency": True})
    shadow_env(GATEWAY_V2_SHADOW_PERCENTAGE=100, GATEWAY_V2_SHADOW_BUDGET_USD=1.0)
    other = ShadowComparison(
        id="other-replica-1",
        at=datetime.now(UTC),
        node="writer",
        purpose="writing",
        v1_model=V1_MODEL,
        v1_ok=True,
        v2_ok=True,
        v2_cost_usd=Decimal("0.99999"),  # leaves less than one call
    )
    assert gateway.records is not None
    background_loop().run(insert_comparisons(gateway.records.store, [other]))
    client = get_llm_client("writing", V1_MODEL, user="replicas")
    client.invoke(PROMPT)  # this replica has spent nothing: the first shadow runs
    drain(runner)
    assert len(_rows(gateway, shadow_comparisons)) == 2  # delivered: the day's total is read
    client.invoke(PROMPT)
    drain(runner)
    assert runner.dropped["budget"] == 1
    assert runner.budget.counted > Decimal("0.99999")


def test_a_stream_the_caller_abandons_is_not_shadowed(
    sim: SimulatorHandle, gateway: LLMGateway, runner: ShadowRunner, shadow_env: Any
) -> None:
    shadow_env(GATEWAY_V2_SHADOW_PERCENTAGE=100)
    for chunk in get_llm_client("writing", V1_MODEL).stream(PROMPT):
        if chunk.content:
            break  # the caller has what it wanted
    assert runner.in_flight == 0 and sum(runner.runs.values()) == 0
    assert _v2_attempts(sim) == []
