"""examples/writing_pipeline on the in-process gateway and the built-in simulator (zero latency):
the nodes run in order (with and without the evaluator's one way back), the writer streams token
by token, and the costs it prints are the ones the gateway's ledger recorded.

The ledger is read here with the standard library's sqlite3 (the table as stored: cost as exact
decimal text), not through the example's reader.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from examples.writing_pipeline.__main__ import main
from examples.writing_pipeline.graph import GATEWAY_NODES, build_graph, run_pipeline
from examples.writing_pipeline.in_process import in_process_gateway
from examples.writing_pipeline.nodes import writer_messages
from llm_gateway.node_integration.messages import to_openai_messages
from llm_gateway.simulator import answer_for

TOPIC = "Capability-aware model selection"


@pytest.fixture(autouse=True)
def _simulated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_SIMULATE", "true")
    monkeypatch.delenv("GATEWAY_URL", raising=False)


def ledger_rows(path: Path, trace_id: str) -> list[dict[str, Any]]:
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute(
            "SELECT node, model, status, input_tokens, output_tokens, cost_usd, stream"
            " FROM ledger WHERE trace_id = ? ORDER BY at, id",
            (trace_id,),
        ).fetchall()
    return [{**dict(row), "cost_usd": Decimal(row["cost_usd"])} for row in rows]


def run_graph(
    ledger: Path, trace_id: str, *, min_score: int
) -> tuple[Any, list[str], list[dict[str, Any]]]:
    """The run, the writer tokens LangGraph passed on, and each node's update."""
    tokens: list[str] = []
    updates: list[dict[str, Any]] = []

    async def go() -> Any:
        async with in_process_gateway(ledger, zero_latency=True) as gateway:
            graph = build_graph(min_score=min_score, max_revisions=1)
            run = await run_pipeline(
                graph,
                TOPIC,
                trace_id,
                on_token=tokens.append,
                on_step=lambda node, update: updates.append({"node": node, **update}),
            )
            assert gateway.simulated
            return run

    return asyncio.run(go()), tokens, updates


@pytest.mark.parametrize(
    ("min_score", "steps"),
    [
        (1, ["search", "writer", "evaluator", "formatter"]),  # every score passes
        (11, ["search", "writer", "evaluator", "writer", "evaluator", "formatter"]),  # none does
    ],
)
def test_nodes_run_in_order_and_the_evaluator_sends_back_once(
    tmp_path: Path, min_score: int, steps: list[str]
) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    run, _tokens, updates = run_graph(ledger, "pipeline-order", min_score=min_score)

    assert run.state["steps"] == steps
    assert [update["node"] for update in updates] == steps
    assert run.state["drafts"] == steps.count("writer")
    assert run.state["document"]
    # The gateway saw the same calls in the same order, each through its node's requirements.
    rows = ledger_rows(ledger, "pipeline-order")
    assert [row["node"] for row in rows] == [GATEWAY_NODES[step] for step in steps]
    assert {row["status"] for row in rows} == {"ok"}
    # LangGraph's "messages" stream mode makes every chat model call stream (langchain-core
    # streams under invoke when a streaming callback listens).
    assert all(row["stream"] for row in rows)


def test_the_writer_streams_token_by_token(tmp_path: Path) -> None:
    run, tokens, updates = run_graph(tmp_path / "ledger.sqlite3", "pipeline-stream", min_score=11)

    drafts = [update for update in updates if update["node"] == "writer"]
    assert len(drafts) == 2 and len(run.writer_chunks) == 2
    for draft, seen_by_langgraph in zip(drafts, run.writer_chunks, strict=True):
        (call,) = draft["calls"]
        assert call["chunks"] > 1  # the node's own count of the chunks it added up
        assert seen_by_langgraph == call["chunks"]  # LangGraph passed each on as it came
    # Nothing lost on the way: the tokens make up both drafts, in order.
    assert "".join(tokens) == "".join(draft["content"] for draft in drafts)
    # ... and the first draft is exactly the simulator's answer to the writer's prompt.
    first_prompt = writer_messages({"topic": TOPIC, "notes": run.state["notes"]})
    assert drafts[0]["content"] == answer_for(to_openai_messages(first_prompt))


def test_the_writer_streams_on_its_own(tmp_path: Path) -> None:
    """Without a streaming listener (``ainvoke`` of the graph) only the writer streams."""
    ledger = tmp_path / "ledger.sqlite3"

    async def go() -> Any:
        async with in_process_gateway(ledger, zero_latency=True):
            graph = build_graph(min_score=1)
            return await graph.ainvoke({"topic": TOPIC, "trace_id": "pipeline-ainvoke"})

    state = asyncio.run(go())
    rows = ledger_rows(ledger, "pipeline-ainvoke")
    assert [bool(row["stream"]) for row in rows] == [step == "writer" for step in state["steps"]]
    (writer,) = [call for call in state["calls"] if call["node"] == "writer"]
    assert writer["chunks"] > 1
    assert [call["chunks"] for call in state["calls"] if call["node"] != "writer"] == [0, 0, 0]


def test_answers_report_the_costs_the_ledger_recorded(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    run, _tokens, _updates = run_graph(ledger, "pipeline-costs", min_score=11)

    rows = ledger_rows(ledger, "pipeline-costs")
    calls = run.state["calls"]
    assert len(calls) == len(rows) == 6
    for call, row in zip(calls, rows, strict=True):
        assert call["gateway_node"] == row["node"]
        assert call["model"] == row["model"]
        assert (call["input_tokens"], call["output_tokens"]) == (
            row["input_tokens"],
            row["output_tokens"],
        )
        assert call["cost_usd"] is not None and row["cost_usd"] > 0
        assert Decimal(repr(call["cost_usd"])) == row["cost_usd"]


TABLE_ROW = re.compile(
    r"^(?P<node>search|writer|evaluator|formatter|total)\s{2,}.*?(?P<calls>\d+)\s{2,}"
    r"(?P<models>[\w.,\- ]*?)\s{2,}(?P<input>\d+)\s{2,}(?P<output>\d+)\s{2,}(?P<cost>\d+\.\d+)$"
)


def printed_table(out: str) -> dict[str, dict[str, str]]:
    table = out.split("--- per node, from the gateway's ledger", 1)[1]
    found = {}
    for line in table.splitlines():
        match = TABLE_ROW.match(line)
        if match:
            found[match["node"]] = match.groupdict()
    return found


def test_the_printed_table_is_the_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "kept" / "ledger.sqlite3"
    argv = ["--zero-latency", "--min-score", "11", "--trace-id", "pipeline-table"]
    assert main([*argv, "--ledger", str(ledger), TOPIC]) == 0
    out = capsys.readouterr().out
    assert "trace pipeline-table" in out
    assert "[writer] streaming: " in out

    table = printed_table(out)
    rows = ledger_rows(ledger, "pipeline-table")
    assert set(table) == {*GATEWAY_NODES, "total"}
    for node, gateway_node in GATEWAY_NODES.items():
        mine = [row for row in rows if row["node"] == gateway_node]
        line = table[node]
        assert int(line["calls"]) == len(mine) == (2 if node in {"writer", "evaluator"} else 1)
        assert line["models"].split(", ") == list(dict.fromkeys(row["model"] for row in mine))
        assert int(line["input"]) == sum(row["input_tokens"] for row in mine)
        assert int(line["output"]) == sum(row["output_tokens"] for row in mine)
        assert Decimal(line["cost"]) == sum(row["cost_usd"] for row in mine)
    assert int(table["total"]["calls"]) == len(rows) == 6
    assert Decimal(table["total"]["cost"]) == sum(row["cost_usd"] for row in rows)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GATEWAY_URL": "http://127.0.0.1:9"}, "GATEWAY_URL is set"),
        ({"GATEWAY_SIMULATE": "false", "OPENROUTER_API_KEY": ""}, "no provider"),
    ],
)
def test_an_environment_it_cannot_run_in_is_refused_clearly(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(Path(__file__).parents[2])  # the repository's config, no .env of its own
    assert main(["--zero-latency"]) == 2
    assert message in capsys.readouterr().err
