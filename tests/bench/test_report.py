"""Comparisons, targets, tables and the docs built from a sweep made of known numbers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import orjson
import pytest

from llm_gateway.bench.compare import compare_cell
from llm_gateway.bench.goals import judge_sweep, peak_rps
from llm_gateway.bench.history import compose, headline, read_history, record_sweep
from llm_gateway.bench.report import sweep_document, sweep_markdown, write_results
from llm_gateway.bench.results import Cell, CellResult, SweepResult, TargetInfo
from llm_gateway.bench.stats import Distribution
from llm_gateway.bench.tables import Table, markdown_table

JSON_1 = Cell(stream=False, concurrency=1, delay_ms=0.0)
JSON_200 = Cell(stream=False, concurrency=200, delay_ms=0.0)
STREAM_1 = Cell(stream=True, concurrency=1, delay_ms=0.0)


def dist(p50: float, p99: float) -> Distribution:
    return Distribution(count=100, p50=p50, p90=(p50 + p99) / 2, p99=p99, mean=p50, max=p99)


def run(target: str, cell: Cell, rps: float, p50: float, p99: float) -> CellResult:
    ttfb = dist(p50 / 2, p99 / 2) if cell.stream else None
    return CellResult(
        target=target,
        cell=cell,
        completed=1000,
        errors={"status 502": 2} if target == "litellm" else {},
        elapsed_s=1000 / rps,
        rps=float(rps),
        latency=dist(p50, p99),
        ttfb=ttfb,
        server_cpu_ms_per_request=0.3,
        server_rss_mb=80.0,
    )


@pytest.fixture
def sweep() -> SweepResult:
    result = SweepResult(
        started_at="2026-01-01T00:00:00+00:00",
        settings={
            "server_core": 0,
            "load_core": 1,
            "max_requests": 1000,
            "max_seconds": 2.0,
            "warmup_seconds": 0.5,
            "chunks": 20,
            "mock_command": "builtin",
            "features": {},
        },
        machine={"commit": "abc1234", "cpu": "test", "cores": 2, "loadavg_before": (0.1,)},
    )
    result.targets = {
        "gateway": TargetInfo("gateway", affinity="0", rss_after_start_mb=90.0),
        "litellm": TargetInfo("litellm", affinity="0", rss_after_start_mb=330.0),
    }
    result.cells = [
        run("direct", JSON_1, 10_000, 0.1, 0.2),
        run("gateway", JSON_1, 2_000, 0.5, 1.2),
        run("litellm", JSON_1, 50, 12.1, 18.2),
        run("direct", JSON_200, 20_000, 9.0, 20.0),
        run("gateway", JSON_200, 3_000, 60.0, 90.0),
        run("litellm", JSON_200, 100, 2000.0, 2500.0),
        run("direct", STREAM_1, 8_000, 0.2, 0.4),
        run("gateway", STREAM_1, 900, 1.2, 2.4),
    ]
    return result


def test_added_latency_and_ratios_per_cell(sweep: SweepResult):
    one = compare_cell(sweep, JSON_1)
    assert one.added_latency["gateway"] == pytest.approx({"p50": 0.4, "p90": 0.7, "p99": 1.0})
    assert one.added_latency["litellm"] == pytest.approx({"p50": 12.0, "p90": 15.0, "p99": 18.0})
    assert one.throughput_ratio == pytest.approx(40.0)
    assert one.added_p50_ratio == pytest.approx(30.0)
    assert one.errors == {"direct": 0, "gateway": 0, "litellm": 2}
    stream = compare_cell(sweep, STREAM_1)
    assert stream.added_ttfb["gateway"] == pytest.approx({"p50": 0.5, "p90": 0.75, "p99": 1.0})
    assert stream.added_ttfb["litellm"] is None
    assert stream.throughput_ratio is None


def test_targets_use_peaks_and_fixed_cells(sweep: SweepResult):
    assert peak_rps(sweep, "gateway", stream=False) == 3_000
    verdicts = {goal.name: (goal.measured, goal.met) for goal in judge_sweep(sweep)}
    assert verdicts["non-streaming throughput"] == (3_000, True)
    assert verdicts["non-streaming throughput vs LiteLLM"] == (pytest.approx(30.0), True)
    assert verdicts["streaming throughput (20 chunks)"] == (900, True)
    assert verdicts["streaming throughput vs LiteLLM"] == (None, None)
    assert verdicts["added latency p50, 1 caller"] == (pytest.approx(0.4), True)
    assert verdicts["added latency p99, 1 caller"] == (pytest.approx(1.0), True)
    assert verdicts["added time to first byte p50, 1 stream"] == (pytest.approx(0.5), True)
    assert verdicts["added latency p99, 50 callers, 50 ms upstream"] == (None, None)
    assert verdicts["RSS after start"] == (90.0, True)
    # 0.3 ms of CPU per request at 200 callers: one core could serve 3,333 per second
    assert verdicts["non-streaming throughput, CPU-bound estimate"] == (
        pytest.approx(1000 / 0.3),
        True,
    )
    assert verdicts["streaming throughput, CPU-bound estimate"] == (None, None)


def test_a_missed_target_is_reported_as_missed(sweep: SweepResult):
    sweep.cells[1] = run("gateway", JSON_1, 2_000, 0.9, 5.0)
    verdicts = {goal.name: goal.met for goal in judge_sweep(sweep)}
    assert verdicts["added latency p50, 1 caller"] is False
    assert verdicts["added latency p99, 1 caller"] is False


def test_markdown_table_escapes_pipes():
    table = Table("t", ["a", "b"], [["x|y", "1"]])
    assert markdown_table(table) == "| a | b |\n|---|---|\n| x\\|y | 1 |"


def test_results_files_hold_runs_comparisons_and_goals(sweep: SweepResult, tmp_path: Path):
    json_path, md_path = write_results(sweep, tmp_path)
    document = orjson.loads(json_path.read_bytes())
    assert document == orjson.loads(orjson.dumps(sweep_document(sweep)))
    assert len(document["cells"]) == 8
    assert document["comparisons"][0]["throughput_ratio_gateway_over_litellm"] == 40.0
    assert {goal["name"] for goal in document["goals"]} >= {"RSS after start"}
    text = md_path.read_text()
    assert "| json c=1 d=0ms | 10,000 | 2,000 | 50.0 | 40.0x |" in text
    assert text == sweep_markdown(sweep)


def test_recording_appends_history_and_composes_the_doc(sweep: SweepResult, tmp_path: Path):
    perf = tmp_path / "docs" / "perf"
    perf.mkdir(parents=True)
    (perf / "notes.md").write_text("## Notes\n\nhand-written\n")
    (perf / "history.jsonl").write_bytes(orjson.dumps(headline(sweep)) + b"\n")
    doc = record_sweep(sweep, tmp_path)
    history = read_history(perf / "history.jsonl")
    assert len(history) == 2
    assert history[1]["gateway_json_peak"] == 3_000
    assert history[1]["json_ratio"] == pytest.approx(30.0)
    text = doc.read_text()
    assert text.startswith("# Performance")
    assert "hand-written" in text
    assert "## Latest sweep" in text
    assert "### Throughput" in text  # the report's headings nest under the section
    assert text == compose(tmp_path / "docs").read_text()
    if importlib.util.find_spec("matplotlib") is not None:
        assert (perf / "sweep-latest.png").stat().st_size > 1000
        assert (perf / "history.png").stat().st_size > 1000
        assert "![sweep](perf/sweep-latest.png)" in text
