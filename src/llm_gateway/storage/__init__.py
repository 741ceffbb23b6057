"""The record store: durable facts — the spend ledger, sampled traces, admin state and the audit
log — in a SQLite file or PostgreSQL (SQLAlchemy 2 async), with Alembic migrations.

``RecordStore`` (:mod:`.store`) reads and writes them; ``RecordWriter`` (:mod:`.writer`) takes
ledger rows and traces off the request path through a bounded queue and a local spool;
:mod:`.migrate` runs the migrations (``llm-gateway db upgrade``).
"""

from llm_gateway.storage.engine import StorageError, create_engine, describe, parse_url

__all__ = ["StorageError", "create_engine", "describe", "parse_url"]
