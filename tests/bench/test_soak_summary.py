"""The soak's growth arithmetic and verdicts on samples made of known numbers."""

from __future__ import annotations

import pytest

from llm_gateway.bench.results import TargetInfo
from llm_gateway.bench.soak import SoakResult, SoakSample, SoakSettings
from llm_gateway.bench.soak_report import growth_table, soak_goals


def sample(requests: int, rss: float, fds: int, tasks: int | None) -> SoakSample:
    return SoakSample(
        elapsed_s=requests / 1000,
        requests=requests,
        errors=0,
        rps=1000.0,
        rss_mb=rss,
        open_fds=fds,
        asyncio_tasks=tasks,
        redis_used_mb=None,
        p50_ms=1.0,
        p99_ms=2.0,
    )


@pytest.fixture
def result() -> SoakResult:
    samples = [
        sample(0, 70.0, 20, 5),
        sample(50_000, 90.0, 70, 60),
        sample(100_000, 100.0, 70, 60),
        sample(1_000_000, 106.0, 71, 61),
    ]
    gateway = TargetInfo("gateway", rss_after_start_mb=70.0)
    return SoakResult({}, gateway, samples, sample(1_000_000, 104.0, 20, 5), {})


def test_growth_is_measured_from_the_warmup_mark_to_the_last_sample_under_load(result):
    summary = result.summary(warmup_mark=100_000)
    assert summary["warmup_at_requests"] == 100_000
    assert summary["end_at_requests"] == 1_000_000
    assert summary["rss_mb"] == {
        "at_warmup": 100.0,
        "at_end": 106.0,
        "growth_percent": pytest.approx(6.0),
        "idle_after": 104.0,
    }
    assert summary["open_fds"]["growth_percent"] == pytest.approx(100 / 70)
    assert summary["redis_used_mb"] == {"at_warmup": None, "at_end": None, "idle_after": None}


def test_six_percent_growth_misses_the_five_percent_target(result):
    verdicts = {goal.name: goal.met for goal in soak_goals(result, 100_000)}
    assert verdicts == {"RSS after start": True, "RSS growth after 100,000 requests": False}


def test_growth_table_shows_every_measure(result):
    table = growth_table(result, 100_000)
    assert table.title == "Growth from 100,000 to 1,000,000 requests"
    assert table.rows[0] == ["RSS MB", "100.0", "106.0", "6.00%", "104.0"]
    assert [row[0] for row in table.rows][-1] == "Redis used MB"


def test_warmup_mark_is_a_tenth_of_a_short_run():
    assert SoakSettings().warmup_mark == 100_000
    assert SoakSettings(max_requests=20_000).warmup_mark == 2_000
