"""What the graph carries from node to node."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict


class NodeCall(TypedDict):
    """One model call of a node, as its answer reported it."""

    node: str  # the graph's node
    gateway_node: str  # the node whose requirements chose the model (node_requirements.yaml)
    model: str  # the logical model that answered
    input_tokens: int
    output_tokens: int
    cost_usd: float | None  # the answer's usage cost (the ledger holds the exact Decimal)
    trace_id: str
    chunks: int  # stream chunks received (0: not streamed)


class PipelineState(TypedDict, total=False):
    topic: str
    trace_id: str
    notes: str  # search
    content: str  # writer: the latest draft
    drafts: int
    score: int  # evaluator
    feedback: str
    document: str  # formatter
    steps: Annotated[list[str], operator.add]  # every node that ran, in order
    calls: Annotated[list[NodeCall], operator.add]
