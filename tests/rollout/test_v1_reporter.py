"""The shim's v1 reporter against a real served gateway: it never blocks the caller, keeps a
bounded queue while the gateway is unreachable (the oldest dropped, counted, said once), sends
it when the gateway is back, drops alone a record the gateway refuses, and stops in bounded
time."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.http.conftest import AUTH, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.cost import compute_cost
from llm_gateway.gateway import set_llm_gateway
from llm_gateway.model_policy import get_model_policy_registry
from llm_gateway.providers.base import Usage
from llm_gateway.rollout.v1_record import V1Call
from llm_gateway.rollout.v1_reporter import V1Reporter
from llm_gateway.routes.deps import reset_process_services
from llm_gateway.settings import Settings
from llm_gateway.storage.records import LedgerRow

LEDGER = "/api/admin/gateway/ledger"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(tmp_path: Path, port: int = 0) -> Iterator[str]:
    settings: Settings = make_settings(
        tmp_path,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/records.sqlite3",
        GATEWAY_LEDGER_SPOOL_DIR=str(tmp_path / "spool"),
    )
    try:
        with serve(create_app(settings), port=port) as (url, _server):
            yield url
    finally:
        set_llm_gateway(None)
        reset_process_services()


def v1_row(model: str = "gemini-2.5-flash", trace_id: str = "trace-r") -> LedgerRow:
    policy = get_model_policy_registry().find_policy("gemini-2.5-flash")
    assert policy is not None
    usage = Usage(prompt_tokens=40, completion_tokens=12)
    call = V1Call(
        node="formatter",
        policy=policy,
        trace_id=trace_id,
        user=None,
        usage=usage,
        cost=compute_cost(usage, policy),
        status="ok",
        error_type=None,
        duration_ms=25.0,
        ttft_ms=None,
        stream=False,
    )
    row = call.row("formatter")
    row.model = model
    return row


def until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def ledger(url: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{url}{LEDGER}", headers=AUTH, timeout=10).json()["rows"])


@pytest.fixture
def reporters() -> Iterator[list[V1Reporter]]:
    made: list[V1Reporter] = []
    yield made
    for reporter in made:
        reporter.close(0)


def test_unreachable_the_queue_is_bounded_and_the_rest_arrives_once_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, reporters: list[V1Reporter]
) -> None:
    port = free_port()
    reporter = V1Reporter(f"http://127.0.0.1:{port}", None, max_queue=10, max_backoff_s=0.05)
    reporters.append(reporter)
    with caplog.at_level(logging.WARNING, logger="llm_gateway.rollout"):
        started = time.monotonic()
        for index in range(25):
            reporter.offer(v1_row(trace_id=f"trace-{index}"), node="formatter")
        assert time.monotonic() - started < 0.5  # never waits on the network
        assert until(lambda: reporter.stats.failures >= 3 and reporter.pending == 10)
        assert reporter.stats.dropped == 15
        with served(tmp_path, port) as url:
            assert until(lambda: reporter.pending == 0)
            rows = ledger(url)
    assert sorted(r["trace_id"] for r in rows) == sorted(f"trace-{i}" for i in range(15, 25))
    assert reporter.stats.sent == 10
    lines = [r.getMessage() for r in caplog.records]
    assert sum("cannot be reported" in line for line in lines) == 1  # once per outage
    assert sum("is full" in line for line in lines) == 1
    assert any("reach" in line and "15 were dropped" in line for line in lines)


def test_a_record_the_gateway_refuses_is_dropped_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, reporters: list[V1Reporter]
) -> None:
    with served(tmp_path) as url, caplog.at_level(logging.ERROR, logger="llm_gateway.rollout"):
        reporter = V1Reporter(url, None, interval_s=5.0)  # one batch, sent at close
        reporters.append(reporter)
        reporter.offer(v1_row(trace_id="good-1"), node="formatter")
        reporter.offer(v1_row(model="not-in-the-catalogue", trace_id="bad"), node="formatter")
        reporter.offer(v1_row(trace_id="good-2"), node="formatter")
        assert reporter.close(5.0) == 0
        rows = ledger(url)
    assert sorted(r["trace_id"] for r in rows) == ["good-1", "good-2"]
    assert reporter.stats.rejected == 1 and reporter.stats.sent == 2
    refusal = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusal) == 1 and "records[1].model" in refusal[0]


def test_close_is_bounded_while_the_gateway_does_not_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reporter = V1Reporter(f"http://127.0.0.1:{free_port()}", None, interval_s=5.0)
    reporter.offer(v1_row(), node="formatter")
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="llm_gateway.rollout"):
        left = reporter.close(0.5)
    assert left == 1
    assert time.monotonic() - started < 2.0
    assert any("1 v1 records were not delivered" in r.getMessage() for r in caplog.records)


def test_a_full_queue_does_not_turn_an_outage_into_a_stream_of_retries(
    reporters: list[V1Reporter],
) -> None:
    reporter = V1Reporter(f"http://127.0.0.1:{free_port()}", None, batch=5, max_queue=50)
    reporters.append(reporter)
    started = time.monotonic()
    while time.monotonic() - started < 1.5:  # a record every 10 ms: a full batch every 50 ms
        reporter.offer(v1_row(), node="formatter")
        time.sleep(0.01)
    # Backoff 0.5 s, then 1 s: a handful of attempts, not one per full batch.
    assert 1 <= reporter.stats.failures <= 4
    assert reporter.stats.dropped > 0 and reporter.pending <= 50 + 5
