"""The audit log's file: appended per change, read back at start-up, corrupt lines skipped."""

from __future__ import annotations

from pathlib import Path

from llm_gateway.audit import AuditLog


def test_entries_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "audit" / "log.jsonl"
    log = AuditLog(path)
    log.record(actor="alice", action="override.set", target="writer", before=None, after={"m": 1})
    log.record(actor="bob", action="override.delete", target="writer", before={"m": 1}, after=None)

    reopened = AuditLog(path)

    assert [e.actor for e in reopened.entries()] == ["bob", "alice"]
    assert reopened.entries()[1].after == {"m": 1}


def test_bounded_in_memory_and_filtered(tmp_path: Path) -> None:
    log = AuditLog(None, max_entries=3)
    for i in range(5):
        log.record(actor="a", action="override.set", target=f"n{i}", before=None, after=i)

    assert len(log) == 3
    assert [e.target for e in log.entries()] == ["n4", "n3", "n2"]
    assert [e.target for e in log.entries(target="n3")] == ["n3"]
    assert log.entries(action="config.reload") == []


def test_corrupt_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    AuditLog(path).record(actor="a", action="x", target="t", before=None, after=None)
    with path.open("ab") as handle:
        handle.write(b'{not json\n[1]\n{"id": 1}\n')

    assert len(AuditLog(path)) == 1
