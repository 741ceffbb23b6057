// The savings report (GET /cost-optimization): per node, the model in use and what it cost, the
// cheaper eligible candidates for the same tokens with their evidence, the projected monthly
// savings, the savings realised against v1, and the basis the figures rest on.
import { h } from "./dom.js";
import * as fmt from "./format.js";
import { usdExact } from "./money.js";
import { badge, card, emptyState, stat, table } from "./ui.js";

function percent(value) {
  return value === null || value === undefined ? "—" : `${value} %`;
}

function observed(evidence) {
  const seen = evidence && evidence.observed;
  if (!seen) return "not used yet";
  const latency = seen.avg_latency_ms === null ? "" : `, avg ${fmt.ms(seen.avg_latency_ms)}`;
  return `${fmt.count(seen.requests)} requests (${seen.scope}), ${fmt.pct(seen.error_rate)} errors${latency}`;
}

function totals(report) {
  const t = report.totals;
  const v1 = t.realised_vs_v1 || {};
  const target = (v1.target_pct || []).join("–");
  return h(
    "div",
    { class: "stats" },
    stat("Requests", fmt.count(t.requests), `${report.window.covered_days} days of data`),
    stat("Actual cost", usdExact(t.actual_cost_usd), `projected month ${fmt.usd(t.projected_monthly_cost_usd)}`),
    stat("Potential savings", usdExact(t.potential_savings_usd), `${percent(t.potential_savings_pct)} of the actual cost`),
    stat("Projected monthly savings", usdExact(t.projected_monthly_savings_usd), report.projection),
    stat(
      "Realised vs v1",
      percent(v1.savings_pct),
      v1.nodes && v1.nodes.length
        ? [`target ${target} % `, badge(v1.meets_target ? "meets target" : "below target", v1.meets_target ? "ok" : "warn")]
        : "no node has a v1 baseline in this window",
    ),
  );
}

function candidatesTable(entry) {
  return table(
    [
      { label: "Model", value: (c) => c.model },
      { label: "Tier", value: (c) => c.cost_tier },
      { label: "Would cost", num: true, value: (c) => usdExact(c.cost_usd) },
      { label: "Saves", num: true, value: (c) => usdExact(c.savings_usd) },
      { label: "Saves %", num: true, value: (c) => percent(c.savings_pct) },
      { label: "Monthly", num: true, value: (c) => usdExact(c.projected_monthly_savings_usd) },
      { label: "Declared quality", num: true, value: (c) => String(c.evidence.declared_quality) },
      { label: "Observed", value: (c) => observed(c.evidence) },
    ],
    entry.candidates,
    { empty: `No eligible model would have cost less than ${entry.current_model || "what answered"} for these tokens.` },
  );
}

function shadowLine(entry) {
  const shadow = entry.shadow_comparisons;
  if (!shadow) return null;
  const similarity = shadow.similarity_mean === null || shadow.similarity_mean === undefined ? "—" : shadow.similarity_mean.toFixed(2);
  return h("p", { class: "subtle" }, `Shadow traffic: ${fmt.count(shadow.comparisons)} comparisons of v2 beside v1, mean similarity ${similarity}.`);
}

function nodeDetails(entry) {
  const v1 = entry.realised_vs_v1 || {};
  return h(
    "details",
    { class: "savings-node" },
    h("summary", {}, `${entry.node}: ${entry.candidates.length} cheaper candidate${entry.candidates.length === 1 ? "" : "s"}`),
    entry.error ? h("p", { class: "field-error" }, entry.error) : null,
    candidatesTable(entry),
    h(
      "p",
      { class: "subtle" },
      `Answered by ${Object.entries(entry.models || {}).map(([m, n]) => `${m} (${n})`).join(", ") || "—"}; ` +
        `${fmt.count(entry.tokens.input)} input and ${fmt.count(entry.tokens.output)} output tokens. ` +
        (v1.baseline_model ? `v1 (${v1.baseline_model}) would have cost $${v1.baseline_cost_usd ?? "?"}: ${percent(v1.savings_pct)} saved.` : v1.message || ""),
    ),
    shadowLine(entry),
  );
}

export function savingsCard(report) {
  if (report.status === "disabled") {
    return card("Savings report", emptyState(`${report.message} Set ENABLE_COST_OPTIMIZATION=true to see savings.`));
  }
  if (report.status !== "ok") {
    const message = (report.message || "No savings report.").replace(/([^.!?])$/, "$1.");
    return card("Savings report", emptyState(`${message} It fills in once requests are answered.`));
  }
  const nodes = report.nodes || [];
  return card(
    "Savings report",
    report.warning ? h("p", { class: "notice-inline", role: "note" }, report.warning) : null,
    totals(report),
    table(
      [
        { label: "Node", value: (n) => n.node },
        { label: "Current model", value: (n) => n.current_model || "—" },
        { label: "Requests", num: true, value: (n) => fmt.count(n.requests) },
        { label: "Actual cost", num: true, value: (n) => usdExact(n.actual_cost_usd) },
        { label: "Best candidate", value: (n) => n.best_candidate || "none cheaper" },
        { label: "Savings", num: true, value: (n) => usdExact(n.potential_savings_usd) },
        { label: "Projected monthly", num: true, value: (n) => usdExact(n.projected_monthly_savings_usd) },
      ],
      nodes,
      { caption: "Per node, over the window" },
    ),
    h("h3", {}, "Candidates and evidence"),
    nodes.map(nodeDetails),
    h("h3", {}, "Basis"),
    h("dl", { class: "facts" }, h("dt", {}, "Figures from"), h("dd", {}, report.basis), h("dt", {}, "Read with care"), h("dd", {}, report.note || "")),
  );
}
