"""Output comparison (issue 12, point 6): each prompt through v1 (the node's old model, direct
to its provider) and v2 (the gateway for the node), with latency, cost, output length, a
similarity score, failures and the model v2 chose — per prompt and in total, as a terminal
table, JSON and a self-contained HTML report.

- :mod:`.prompts` — the prompts file (JSON lines);
- :mod:`.similarity` — the similarity score (the project's one measure; why it fits: there);
- :mod:`.runner` — runs the prompts through both arms;
- :mod:`.report` — totals, JSON, the Rich table and the HTML page.
"""

from llm_gateway.compare.prompts import ComparePrompt, load_prompts
from llm_gateway.compare.runner import ArmResult, PromptComparison, run_comparison
from llm_gateway.compare.similarity import similarity

__all__ = [
    "ArmResult",
    "ComparePrompt",
    "PromptComparison",
    "load_prompts",
    "run_comparison",
    "similarity",
]
