"""The ledger-based cost-savings report (issue 12, point 7).

- :mod:`.baseline` — the model each node called before the gateway (the v1 baseline);
- :mod:`.ledger_sums` — per node, model and arm: requests, errors, latency, token buckets and the
  exact cost, summed by the database (SQLite and PostgreSQL alike);
- :mod:`.report` — what each eligible cheaper model would have cost for the same tokens, the
  projected monthly savings, the evidence per candidate and the savings realised against v1;
- :mod:`.html` — the report as a self-contained HTML page with inline SVG charts.
"""

from llm_gateway.costs.baseline import V1_BASELINE, baseline_for
from llm_gateway.costs.evidence import shadow_evidence
from llm_gateway.costs.report import build_cost_report, disabled_report

__all__ = ["V1_BASELINE", "baseline_for", "build_cost_report", "disabled_report", "shadow_evidence"]
