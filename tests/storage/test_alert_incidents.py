"""The incident store's contract, on SQLite and PostgreSQL (migration 0002): one open incident
per rule and scope key, and each step (open, repeat, resolve) granted to one caller only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from llm_gateway.alerts.incidents import IncidentStore
from llm_gateway.storage.store import RecordStore


def _open(incidents: IncidentStore, rule: str = "r", scope: str = "all", **extra: object):  # type: ignore[no-untyped-def]
    return incidents.open(
        rule=rule,
        scope_key=scope,
        condition="error_rate > 5%",
        severity="error",
        value=0.5,
        summary="error_rate 50% > 5%",
        **extra,  # type: ignore[arg-type]
    )


async def test_one_open_incident_per_rule_and_scope_whoever_asks(store: RecordStore) -> None:
    incidents = IncidentStore(store)
    opened = await asyncio.gather(*(_open(incidents) for _ in range(5)))
    assert sum(1 for i in opened if i is not None) == 1
    assert await _open(incidents, scope="writer") is not None  # another scope key
    assert {(i.rule, i.scope_key) for i in await incidents.open_incidents()} == {
        ("r", "all"),
        ("r", "writer"),
    }


async def test_a_repeat_and_a_resolution_are_granted_once(store: RecordStore) -> None:
    incidents = IncidentStore(store)
    incident = await _open(incidents)
    assert incident is not None
    claims = await asyncio.gather(*(incidents.claim_repeat(incident) for _ in range(4)))
    assert claims.count(True) == 1
    (fresh,) = await incidents.open_incidents()
    assert fresh.notifications == 2
    resolved = await asyncio.gather(*(incidents.resolve(fresh) for _ in range(4)))
    assert resolved.count(True) == 1
    assert await incidents.open_incidents() == []
    assert not await incidents.claim_repeat(fresh)
    again = await _open(incidents)  # a new incident once the old one is resolved
    assert again is not None and again.id != incident.id
    history = await incidents.history()
    assert [i.id for i in history] == [again.id, incident.id]
    assert history[1].as_dict()["state"] == "resolved"
    assert (await incidents.last_firing())["r"].id == again.id


async def test_details_and_resolution_floors_are_kept(store: RecordStore) -> None:
    incidents = IncidentStore(store)
    start = datetime.now(UTC) - timedelta(minutes=1)
    incident = await _open(incidents, scope="gpt-4o-mini", now=start)
    assert incident is not None
    await incidents.note(incident, {"disabled_model": "gpt-4o-mini"})
    (stored,) = await incidents.open_incidents()
    assert stored.detail == {"disabled_model": "gpt-4o-mini"}
    assert stored.started_at == start
    assert await incidents.resolved_floors("r") == {}
    end = start + timedelta(seconds=30)
    assert await incidents.resolve(stored, end)
    assert await incidents.resolved_floors("r") == {"gpt-4o-mini": end}
