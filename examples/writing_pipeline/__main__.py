"""``python -m examples.writing_pipeline [TOPIC]`` (``make example``: on the simulator).

Runs the graph once on the in-process gateway, streaming the writer's tokens to the terminal,
then prints the formatted document and the per-node table of models, tokens and exact costs
read back from the gateway's ledger.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from examples.writing_pipeline.graph import GATEWAY_NODES, build_graph, run_pipeline
from examples.writing_pipeline.in_process import SetupError, in_process_gateway
from examples.writing_pipeline.report import costs_by_node, render_table

DEFAULT_TOPIC = "How a capability-aware LLM gateway lowers the cost of an agent pipeline"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m examples.writing_pipeline",
        description="search → writer → evaluator → formatter on the in-process gateway",
    )
    parser.add_argument("topic", nargs="?", default=DEFAULT_TOPIC, help="what to write about")
    parser.add_argument(
        "--min-score",
        type=int,
        default=7,
        choices=range(1, 12),
        metavar="1-11",
        help="score a draft needs to skip revision (11: always revise) [7]",
    )
    parser.add_argument(
        "--max-revisions",
        type=int,
        default=1,
        choices=range(6),
        metavar="0-5",
        help="how often the evaluator may send a draft back [1]",
    )
    parser.add_argument("--trace-id", help="one trace id for every call [pipeline-<random>]")
    parser.add_argument(
        "--ledger", type=Path, help="keep the ledger in this SQLite file [a temporary one]"
    )
    parser.add_argument("--zero-latency", action="store_true", help="the simulator answers at once")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace, ledger_path: Path) -> int:
    trace_id = args.trace_id or f"pipeline-{uuid.uuid4().hex[:12]}"
    async with in_process_gateway(ledger_path, zero_latency=args.zero_latency) as gateway:
        provider = "the built-in simulator" if gateway.simulated else "the configured providers"
        print(f"writing pipeline on the in-process gateway ({provider}), trace {trace_id}")
        graph = build_graph(min_score=args.min_score, max_revisions=args.max_revisions)
        progress = TerminalProgress()
        result = await run_pipeline(
            graph, args.topic, trace_id, on_token=progress.token, on_step=progress.step
        )
        entries = await gateway.ledger(trace_id)
    print("\n--- document " + "-" * 60)
    print(result.state.get("document", ""))
    print("\n--- per node, from the gateway's ledger " + "-" * 34)
    print(render_table(costs_by_node(entries, GATEWAY_NODES)))
    return 0


class TerminalProgress:
    """Each node's result as it finishes; the writer's tokens as they arrive."""

    def __init__(self) -> None:
        self.streaming = False

    def token(self, token: str) -> None:
        if not self.streaming:
            print("[writer] streaming: ", end="")
            self.streaming = True
        print(token, end="", flush=True)

    def step(self, node: str, update: dict[str, Any]) -> None:
        if self.streaming:
            print()
            self.streaming = False
        call = (update.get("calls") or [{}])[-1]
        model = call.get("model", "?")
        if node == "writer":
            print(f"[writer] {model}: draft {update.get('drafts')}, {call.get('chunks')} chunks")
        elif node == "evaluator":
            print(f"[evaluator] {model}: score {update.get('score')}/10: {update.get('feedback')}")
        else:
            print(f"[{node}] {model}: {call.get('output_tokens')} tokens")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.ledger is not None:
            return asyncio.run(run(args, args.ledger))
        with tempfile.TemporaryDirectory(prefix="writing-pipeline-") as tmp:
            return asyncio.run(run(args, Path(tmp) / "ledger.sqlite3"))
    except SetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
