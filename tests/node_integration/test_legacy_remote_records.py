"""A legacy client in another process than its gateway (``GATEWAY_URL`` set) takes v1 direct to
the provider — and the served gateway still records it: the v1 call's record is reported in the
background (``POST /v1/rollout/records``) and lands in that gateway's ledger with arm v1 and the
exact cost, counted by the rollback guard's evidence and the cost report. With the gateway down
the v1 call still succeeds at once, and its record arrives once the gateway is back; a process
that exits sends what is queued first."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from tests.http.conftest import AUTH, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.gateway import LLMGateway, set_llm_gateway
from llm_gateway.llm_service import get_llm_client
from llm_gateway.rollout.evidence import arm_evidence
from llm_gateway.rollout.remote_flags import forget_remote_flags
from llm_gateway.rollout.v1_reporter import close_v1_reporters, v1_reporter
from llm_gateway.routes.deps import reset_process_services
from llm_gateway.settings import Settings
from llm_gateway.simulator.testing import SimulatorHandle
from llm_gateway.storage.store import RecordStore

LEDGER = "/api/admin/gateway/ledger"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def recording_settings(module_simulator: SimulatorHandle, tmp_path: Path) -> Settings:
    """A served gateway on the simulator with a SQLite record store."""
    return make_settings(
        tmp_path,
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY="sk-or-node-clients-0000",
        OPENROUTER_BASE_URL=module_simulator.base_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/records.sqlite3",
        GATEWAY_LEDGER_SPOOL_DIR=str(tmp_path / "spool"),
    )


@pytest.fixture
def legacy_process(process_gateway: LLMGateway) -> Iterator[LLMGateway]:
    # process_gateway: this process's own gateway, whose providers the v1 path calls directly
    forget_remote_flags()
    close_v1_reporters(0)
    yield process_gateway
    close_v1_reporters(0)
    forget_remote_flags()


@contextmanager
def served(settings: Settings, port: int = 0) -> Iterator[str]:
    try:
        with serve(create_app(settings), port=port) as (url, _server):
            yield url
    finally:
        set_llm_gateway(None)
        reset_process_services()


def ledger_rows(url: str, wanted: int, seconds: float = 15.0) -> list[dict[str, Any]]:
    """The served ledger once it has ``wanted`` rows (bounded wait)."""
    deadline = time.monotonic() + seconds
    while True:
        rows = httpx.get(f"{url}{LEDGER}", headers=AUTH, timeout=10).json()["rows"]
        if len(rows) >= wanted or time.monotonic() > deadline:
            return list(rows)
        time.sleep(0.1)


def test_a_remote_v1_call_is_in_the_served_gateways_ledger_evidence_and_cost_report(
    legacy_process: LLMGateway, recording_settings: Settings, module_simulator: SimulatorHandle
) -> None:
    with served(recording_settings) as url:
        client = get_llm_client(
            "formatting", "gemini-2.5-flash", gateway_url=url, user="u-7"
        ).with_gateway(legacy_process)  # v1 on this process's own providers, not the server's
        module_simulator.clear()
        answer = client.invoke("hi")
        chunks = list(client.stream("hi"))
        rows = ledger_rows(url, 2)
        report = httpx.get(
            f"{url}/api/admin/gateway/cost-optimization?days=1", headers=AUTH, timeout=10
        ).json()
        reporter = v1_reporter(url, None)
        assert reporter.pending == 0 and reporter.stats.sent == 2
    evidence = anyio.run(_evidence, recording_settings)

    meta = answer.response_metadata
    assert meta["gateway_arm"] == "v1"
    # v1 went straight to the provider: two calls of the named model, none through the gateway
    attempts = module_simulator.attempts()
    assert [a.model for a in attempts] == ["google/gemini-2.5-flash"] * 2
    assert len(rows) == 2 and {r["arm"] for r in rows} == {"v1"}
    row = next(r for r in rows if r["trace_id"] == meta["trace_id"])
    assert row["model"] == "gemini-2.5-flash" and row["node"] == "formatter"
    assert row["user_id"] == "u-7" and row["status"] == "ok" and row["stream"] is False
    assert row["cost_source"] == "provider"
    assert Decimal(row["cost_usd"]) == Decimal(str(meta["cost_usd"])) > 0  # what the caller got
    assert row["input_tokens"] == answer.usage_metadata["input_tokens"]
    assert row["output_tokens"] == answer.usage_metadata["output_tokens"]
    streamed = next(r for r in rows if r["stream"])
    assert streamed["ttft_ms"] is not None and streamed["ttft_ms"] <= streamed["latency_ms"]
    streamed_cost = sum(c.response_metadata.get("cost_usd", 0) for c in chunks)
    assert Decimal(streamed["cost_usd"]) == Decimal(str(streamed_cost))
    assert evidence["v1"].requests == 2 and evidence["v1"].errors == 0
    assert evidence["v2"].requests == 0
    assert report["status"] == "ok"
    formatter = next(n for n in report["nodes"] if n["node"] == "formatter")
    assert formatter["requests"] == 2 and formatter["models"] == {"gemini-2.5-flash": 2}
    total = Decimal(row["cost_usd"]) + Decimal(streamed["cost_usd"])
    assert Decimal(formatter["actual_cost_usd"]) == total


async def _evidence(settings: Settings) -> Any:
    url = settings.database_url
    assert url is not None
    store = RecordStore.open(url)
    try:
        return await arm_evidence(store, 3600, datetime.now(UTC))
    finally:
        await store.aclose()


def test_with_the_gateway_down_v1_answers_at_once_and_its_record_arrives_later(
    legacy_process: LLMGateway, recording_settings: Settings
) -> None:
    with served(recording_settings) as url:
        port = int(url.rsplit(":", 1)[1])
        client = get_llm_client(
            "formatting", "gemini-2.5-flash", gateway_url=url, user="u-8"
        ).with_gateway(legacy_process)
        assert client.invoke("hi").response_metadata["gateway_arm"] == "v1"
        assert len(ledger_rows(url, 1)) == 1
    # The gateway is down: v1 does not need it, and is not slowed by the report.
    trace_ids = []
    for _ in range(3):
        started = time.monotonic()
        answer = client.invoke("hi")
        assert time.monotonic() - started < 1.0
        assert answer.response_metadata["gateway_arm"] == "v1"
        trace_ids.append(answer.response_metadata["trace_id"])
    reporter = v1_reporter(url, None)
    deadline = time.monotonic() + 5
    while reporter.stats.failures == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reporter.stats.failures >= 1 and reporter.pending == 3
    with served(recording_settings, port=port) as again:
        assert again == url
        rows = ledger_rows(url, 4, seconds=20)
    assert len(rows) == 4
    assert set(trace_ids) <= {r["trace_id"] for r in rows}
    assert reporter.stats.dropped == 0 and reporter.pending == 0


def _legacy_script_env(simulator: SimulatorHandle, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "OPENROUTER_"))}
    env.update(
        GATEWAY_SIMULATE="false",
        OPENROUTER_API_KEY="sk-or-node-clients-0000",
        OPENROUTER_BASE_URL=simulator.base_url,
        GATEWAY_CONFIG_DIR=str(ROOT / "config"),
        DATABASE_URL="",
        GATEWAY_AUDIT_LOG_FILE="",
        **extra,
    )
    return env


SCRIPT = """
import sys
from llm_gateway.llm_service import get_llm_client
client = get_llm_client("formatting", "gemini-2.5-flash", gateway_url=sys.argv[1])
print(client.invoke("hi").response_metadata["trace_id"])
"""


def test_a_process_that_exits_sends_its_queued_records_first(
    recording_settings: Settings, module_simulator: SimulatorHandle, tmp_path: Path
) -> None:
    env = _legacy_script_env(module_simulator)
    with served(recording_settings) as url:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, url],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        rows = httpx.get(f"{url}{LEDGER}", headers=AUTH, timeout=10).json()["rows"]
    assert [r["trace_id"] for r in rows] == [done.stdout.strip()]
    assert rows[0]["arm"] == "v1"


def test_an_exit_with_the_gateway_unreachable_is_bounded_and_says_what_was_lost(
    module_simulator: SimulatorHandle, tmp_path: Path
) -> None:
    env = _legacy_script_env(module_simulator, GATEWAY_V1_REPORT_EXIT_S="1")
    nobody = "http://127.0.0.1:9"  # discard port: nothing listens on loopback
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, nobody],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr  # the v1 call answered
    assert done.stdout.strip()
    assert "1 v1 records were not delivered to http://127.0.0.1:9 before exit" in done.stderr
    assert took < 15  # start-up + the first flags read (2 s) + the exit bound (1 s)
