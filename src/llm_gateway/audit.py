"""The admin audit log: who changed what, from what, to what, and when.

Every admin change (override set or removed, bulk update, reload) is recorded as one
:class:`AuditEntry`. The log keeps the newest ``max_entries`` in memory for
``GET /api/admin/gateway/audit`` and, when given a path, appends each entry as one JSON line to
that file (and reads the file's tail back at start-up, so a restart keeps the history). Entries
never contain a token or key: the actor is a label, never a credential.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from llm_gateway.redaction import redact, redact_value

logger = logging.getLogger("llm_gateway.audit")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One admin change. ``before``/``after`` are JSON values (None when absent)."""

    id: str
    at: str
    actor: str
    action: str
    target: str
    before: Any
    after: Any
    client: str | None = None
    forced: bool = False
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class AuditLog:
    """Bounded in-memory history, optionally mirrored to an append-only JSON-lines file."""

    def __init__(self, path: Path | None = None, *, max_entries: int = 1000) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._entries: deque[AuditEntry] = deque(maxlen=max_entries)
        if path is not None:
            self._load(path)

    @property
    def path(self) -> Path | None:
        return self._path

    def record(
        self,
        *,
        actor: str,
        action: str,
        target: str,
        before: Any,
        after: Any,
        client: str | None = None,
        forced: bool = False,
        detail: str | None = None,
    ) -> AuditEntry:
        """Append one entry (and write it to the file, when there is one); return it."""
        entry = self.make_entry(
            actor=actor,
            action=action,
            target=target,
            before=before,
            after=after,
            client=client,
            forced=forced,
            detail=detail,
        )
        self.remember(entry)
        return entry

    @staticmethod
    def make_entry(
        *,
        actor: str,
        action: str,
        target: str,
        before: Any,
        after: Any,
        client: str | None = None,
        forced: bool = False,
        detail: str | None = None,
    ) -> AuditEntry:
        """An entry, redacted, not yet recorded (the record store commits it with the change)."""
        return AuditEntry(
            id=uuid.uuid4().hex,
            at=datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds"),
            actor=redact(actor),
            action=action,
            target=redact(target),
            before=redact_value(before),
            after=redact_value(after),
            client=client,
            forced=forced,
            detail=redact(detail) if detail else detail,
        )

    def remember(self, entry: AuditEntry) -> None:
        """Keep ``entry`` in memory and append it to the export file, when there is one."""
        with self._lock:
            self._entries.append(entry)
            if self._path is not None:
                self._append(self._path, entry)

    def entries(
        self, *, limit: int = 100, action: str | None = None, target: str | None = None
    ) -> list[AuditEntry]:
        """Newest first, optionally only one action or one target."""
        with self._lock:
            items = list(self._entries)
        out: list[AuditEntry] = []
        for entry in reversed(items):
            if (action is None or entry.action == action) and (
                target is None or entry.target == target
            ):
                out.append(entry)
                if len(out) >= limit:
                    break
        return out

    def __len__(self) -> int:
        return len(self._entries)

    def _append(self, path: Path, entry: AuditEntry) -> None:
        # Admin changes are rare: a synchronous append keeps the record ordered and durable.
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("ab") as handle:
                handle.write(orjson.dumps(entry.as_dict(), default=str) + b"\n")
        except OSError as exc:
            logger.error("cannot write the audit log %s: %s", path, exc.strerror)

    def _load(self, path: Path) -> None:
        try:
            lines = path.read_bytes().splitlines()
        except FileNotFoundError:
            return
        except OSError as exc:
            logger.error("cannot read the audit log %s: %s", path, exc.strerror)
            return
        maxlen = self._entries.maxlen or len(lines)
        for line in lines[-maxlen:]:
            entry = _parse_line(line)
            if entry is not None:
                self._entries.append(entry)


def _parse_line(line: bytes) -> AuditEntry | None:
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, Mapping):
        return None
    try:
        return AuditEntry(
            id=str(data["id"]),
            at=str(data["at"]),
            actor=str(data["actor"]),
            action=str(data["action"]),
            target=str(data["target"]),
            before=data.get("before"),
            after=data.get("after"),
            client=data.get("client"),
            forced=bool(data.get("forced")),
            detail=data.get("detail"),
        )
    except KeyError:
        return None
