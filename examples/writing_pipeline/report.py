"""The per-node table: calls, the model chosen, tokens and the exact cost, from the ledger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from examples.writing_pipeline.in_process import LedgerEntry

HEADERS = ("node", "gateway node", "calls", "model", "input tokens", "output tokens", "cost (USD)")


@dataclass(frozen=True)
class NodeCost:
    node: str
    gateway_node: str
    calls: int
    models: tuple[str, ...]  # in the order they answered, each once
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal


def costs_by_node(entries: Sequence[LedgerEntry], graph_nodes: Mapping[str, str]) -> list[NodeCost]:
    """One line per graph node, in the order they first ran. ``graph_nodes`` maps each graph
    node to its gateway node (the ledger's ``node``)."""
    of_gateway_node = {gateway: graph for graph, gateway in graph_nodes.items()}
    grouped: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        grouped.setdefault(of_gateway_node.get(entry.node, entry.node), []).append(entry)
    return [
        NodeCost(
            node=node,
            gateway_node=rows[0].node,
            calls=len(rows),
            models=tuple(dict.fromkeys(row.model for row in rows)),
            input_tokens=sum(row.input_tokens for row in rows),
            output_tokens=sum(row.output_tokens for row in rows),
            cost_usd=sum((row.cost_usd for row in rows), Decimal(0)),
        )
        for node, rows in grouped.items()
    ]


def render_table(costs: Sequence[NodeCost]) -> str:
    """The table as text, columns two spaces apart at least, with a total line."""
    lines = [
        (
            cost.node,
            cost.gateway_node,
            str(cost.calls),
            ", ".join(cost.models),
            str(cost.input_tokens),
            str(cost.output_tokens),
            format(cost.cost_usd, "f"),
        )
        for cost in costs
    ]
    total = (
        "total",
        "",
        str(sum(cost.calls for cost in costs)),
        "",
        str(sum(cost.input_tokens for cost in costs)),
        str(sum(cost.output_tokens for cost in costs)),
        format(sum((cost.cost_usd for cost in costs), Decimal(0)), "f"),
    )
    rows = [HEADERS, *lines, total]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    numeric = {2, 4, 5, 6}

    def line(row: Sequence[str]) -> str:
        cells = [
            cell.rjust(width) if i in numeric else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(HEADERS), rule, *map(line, lines), rule, line(total)])
