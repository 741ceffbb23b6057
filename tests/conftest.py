import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from llm_gateway.settings import reset_settings_cache
from llm_gateway.storage.migrate import upgrade

pytest_plugins = ["llm_gateway.simulator.pytest_plugin", "tests.shared_services"]


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty record store at the newest schema, made once (migrations have their own
    tests); each test starts from a copy."""
    path = tmp_path_factory.mktemp("template") / "records.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(autouse=True)
def _own_record_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _migrated_sqlite: Path
) -> None:
    """Each test's record store (SQLite) and ledger spool are its own: nothing one test
    stored (an override, a ledger row) is restored or read by another."""
    shutil.copyfile(_migrated_sqlite, tmp_path / "records.sqlite3")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/records.sqlite3")
    monkeypatch.setenv("GATEWAY_LEDGER_SPOOL_DIR", str(tmp_path / "spool"))


@pytest.fixture(autouse=True)
def _fresh_process_settings() -> Iterator[None]:
    """Each test reads the environment afresh: settings cached by one test (the process-wide
    ``get_settings()``) must not decide what the next one sees."""
    reset_settings_cache()
    yield
    reset_settings_cache()
