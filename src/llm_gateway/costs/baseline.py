"""The v1 baseline: the model each agent node called, hard-coded, before the gateway.

Realised savings are measured against it: for the same tokens, what the node's requests would
have cost on its v1 model, minus what they did cost. Where the migration guide names the model,
that is the baseline (``source`` says where); for the other nodes the guide gives none, and the
entry is an assumption, marked ``assumed``, chosen on the conservative side (the cheaper of the
plausible models, so realised savings are not flattered). Patterns (``search_*``) match as in
``node_requirements.yaml``: an exact name first, then the most specific pattern.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BaselineModel:
    model: str
    source: str


V1_BASELINE: dict[str, BaselineModel] = {
    "writer": BaselineModel(
        "gemini-2.5-pro", "guide: Phase 3.2 `compare_writer_outputs.py --old-model gemini-2.5-pro`"
    ),
    "formatter": BaselineModel(
        "gemini-2.5-flash", 'guide: Phase 2.1 "Before" `get_llm_client("formatting", ...)`'
    ),
    "evaluator": BaselineModel(
        "claude-sonnet", 'guide: bulk update `"evaluator": "claude-sonnet"` (its reasoning model)'
    ),
    "search_*": BaselineModel("perplexity-sonar", "assumed: Perplexity's standard search model"),
    "qa_*": BaselineModel("claude-sonnet", "assumed: the guide's reasoning model"),
    "citation_master": BaselineModel("gemini-2.5-pro", "assumed: the guide's default model"),
}
"""Node (or pattern) → its v1 model. Nodes not matched have no baseline (``default``)."""


def baseline_for(node: str, table: dict[str, BaselineModel] | None = None) -> BaselineModel | None:
    """The v1 model of ``node``: its own entry, else the longest matching pattern, else None."""
    table = V1_BASELINE if table is None else table
    if node in table:
        return table[node]
    patterns = [p for p in table if any(c in p for c in "*?[") and fnmatch.fnmatchcase(node, p)]
    if not patterns:
        return None
    return table[max(patterns, key=lambda p: (len(p.replace("*", "")), p))]
