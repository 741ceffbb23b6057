"""The record-store fixtures of tests/storage: a migrated SQLite file and a PostgreSQL database
of the test's own (dropped afterwards)."""

from tests.storage.conftest import db_url, store

__all__ = ["db_url", "store"]
