"""The state store's contract, on memory and on Redis alike."""

from __future__ import annotations

import asyncio
from typing import Any

from llm_gateway.state.base import StateStore


async def test_control_changes_are_versioned_and_atomic(state_store: StateStore) -> None:
    empty = await state_store.control_state()
    assert empty.version == 0 and not empty.entries
    v1 = await state_store.control_change(
        [("override", "writer", {"model_id": "a"}), ("override", "qa_x", {"model_id": "b"})]
    )
    v2 = await state_store.control_change([("override", "qa_x", None), ("disabled_model", "m", {})])
    assert v2 == v1 + 1
    state = await state_store.control_state()
    assert state.version == v2
    assert dict(state.kind("override")) == {"writer": {"model_id": "a"}}
    assert dict(state.kind("disabled_model")) == {"m": {}}
    v3 = await state_store.control_replace({"override": {"evaluator": {"model_id": "c"}}})
    state = await state_store.control_state()
    assert state.version == v3 > v2
    assert dict(state.kind("override")) == {"evaluator": {"model_id": "c"}}
    assert not state.kind("disabled_model")


async def test_events_reach_every_subscriber_in_order(state_store: StateStore) -> None:
    seen: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    async def handler(event: dict[str, Any]) -> None:
        seen.append(event)
        if len(seen) == 3:
            arrived.set()

    state_store.on_event(handler)
    await asyncio.sleep(0.2)  # the Redis subscriber is connected
    for n in range(3):
        await state_store.publish({"type": "test", "n": n})
    await asyncio.wait_for(arrived.wait(), 5)
    assert sorted(e["n"] for e in seen) == [0, 1, 2]


async def test_replicas_expire_without_heartbeats(state_store: StateStore) -> None:
    await state_store.heartbeat("a", {"pid": 1, "control_version": 3}, ttl_s=0.3)
    await state_store.heartbeat("b", {"pid": 2}, ttl_s=30)
    live = await state_store.replicas()
    assert {r["id"] for r in live} == {"a", "b"}
    assert next(r for r in live if r["id"] == "a")["control_version"] == 3
    await asyncio.sleep(0.5)
    assert {r["id"] for r in await state_store.replicas()} == {"b"}
    await state_store.forget_replica("b")
    assert await state_store.replicas() == []


async def test_acknowledgements_by_topic(state_store: StateStore) -> None:
    await state_store.ack("control:7", "a", {"version": 7})
    await state_store.ack("control:7", "b", {"version": 7})
    await state_store.ack("control:8", "a", {"version": 8})
    assert set(await state_store.acks("control:7")) == {"a", "b"}
    assert (await state_store.acks("control:8"))["a"] == {"version": 8}
    assert await state_store.acks("control:9") == {}


async def test_a_lease_has_one_holder_until_it_expires(state_store: StateStore) -> None:
    assert await state_store.lease_holder("probe:m") is None
    assert await state_store.try_lease("probe:m", "a", 0.3)
    assert await state_store.lease_holder("probe:m") == "a"
    assert await state_store.try_lease("probe:m", "a", 0.3)  # its holder renews it
    assert not await state_store.try_lease("probe:m", "b", 0.3)
    await state_store.release_lease("probe:m", "b")  # not b's: nothing happens
    assert not await state_store.try_lease("probe:m", "b", 0.3)
    await asyncio.sleep(0.4)
    assert await state_store.lease_holder("probe:m") is None  # lapsed
    assert await state_store.try_lease("probe:m", "b", 0.3)
    await state_store.release_lease("probe:m", "b")
    assert await state_store.try_lease("probe:m", "c", 0.3)


async def test_concurrent_changes_never_lose_an_increment(state_store: StateStore) -> None:
    versions = await asyncio.gather(
        *(state_store.control_change([("flag", f"f{i}", {"on": True})]) for i in range(50))
    )
    assert sorted(versions) == list(range(1, 51))
    assert len((await state_store.control_state()).kind("flag")) == 50


async def test_cache_entries_expire_and_are_replaced(state_store: StateStore) -> None:
    assert await state_store.cache_get("absent") is None
    await state_store.cache_put("k1", '{"answer": "é"}', ttl_s=0.3)
    await state_store.cache_put("k2", "second", ttl_s=30)
    assert await state_store.cache_get("k1") == '{"answer": "é"}'
    await state_store.cache_put("k2", "replaced", ttl_s=30)
    assert await state_store.cache_get("k2") == "replaced"
    await asyncio.sleep(0.45)
    assert await state_store.cache_get("k1") is None
    assert await state_store.cache_get("k2") == "replaced"


async def test_holds_end_with_their_time_and_can_be_dropped(state_store: StateStore) -> None:
    assert await state_store.holds("circuit", []) == []
    assert await state_store.holds("circuit", ["absent"]) == [None]
    await state_store.hold_put("circuit", "m1", "1700000000.5", ttl_s=0.3)
    await state_store.hold_put("circuit", "m2", "second", ttl_s=30)
    await state_store.hold_put("cooldown", "m1", "other family", ttl_s=30)
    assert await state_store.holds("circuit", ["m1", "m2", "m3"]) == [
        "1700000000.5",
        "second",
        None,
    ]
    await state_store.hold_put("circuit", "m2", "", ttl_s=0)  # dropped
    await asyncio.sleep(0.45)
    assert await state_store.holds("circuit", ["m1", "m2"]) == [None, None]
    assert await state_store.holds("cooldown", ["m1"]) == ["other family"]
