// The rollout's evidence, read-only: the rollback guard (rules, v1 vs v2 over its window, last
// step) and shadow traffic (v2 run beside v1, compared per node). Used by pages/rollout.js.
import { h } from "./dom.js";
import * as fmt from "./format.js";
import { badge, card, emptyState, table } from "./ui.js";

const GUARD_KINDS = { watching: "ok", stepped_down: "warn", pinned: "info", off: "muted" };

function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.filter(Boolean).map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
  );
}

function armRow(arm, e) {
  return { arm, ...(e || {}) };
}

function evidenceTable(evidence, caption) {
  const rows = ["v1", "v2"].map((arm) => armRow(arm, (evidence || {})[arm]));
  return table(
    [
      { label: "Arm", value: (r) => h("strong", {}, r.arm) },
      { label: "Requests", num: true, value: (r) => fmt.count(r.requests) },
      { label: "Errors", num: true, value: (r) => fmt.count(r.errors) },
      { label: "Error rate", num: true, value: (r) => fmt.pct(r.error_rate, 2) },
      { label: "p95 latency", num: true, value: (r) => fmt.ms(r.p95_latency_ms) },
      { label: "Cost / request", num: true, value: (r) => fmt.usd(r.cost_per_request) },
    ],
    rows,
    { caption },
  );
}

function lastStep(step) {
  if (!step) return h("p", { class: "subtle" }, "The guard has not stepped the rollout down.");
  return h(
    "div",
    { class: "guard-step" },
    h("h3", {}, "Last step"),
    facts([
      ["When", `${fmt.time(step.at)} (${fmt.ago(step.at)})`],
      ["Share on v2", `${step.from} % → ${step.to} %`],
      ["Why", step.reason || "—"],
    ]),
    step.evidence ? evidenceTable(step.evidence, "The evidence the step was taken on") : null,
  );
}

export function guardCard(guard) {
  const g = guard || { state: "off", rules: [] };
  if (!g.enabled) {
    return card(
      "Rollback guard",
      h("p", {}, badge(g.state || "off", "muted")),
      g.error ? h("p", { class: "field-error" }, `rollout.yaml: ${g.error}`) : null,
      emptyState(
        "The rollback guard is off. To have it step v2 down (100 → 50 → 25 → 0 %) when v2 does worse than v1, " +
          "put a rollout.yaml with guard rules in the config directory (or set GATEWAY_ROLLOUT_FILE) with a record store, " +
          "then reload on the Config page.",
      ),
    );
  }
  const rules = (g.rules || []).map((rule) => h("li", {}, rule.description, " ", h("code", {}, `${rule.metric}: ${rule.threshold}`)));
  return card(
    "Rollback guard",
    facts([
      ["State", badge(g.state, GUARD_KINDS[g.state])],
      ["Rules file", h("span", { class: "mono" }, g.file || "—")],
      g.error ? ["Last reload", h("span", { class: "field-error" }, `refused, the rules below stay: ${g.error}`)] : null,
      ["Window", `${fmt.duration(g.window_s)} · at least ${fmt.count(g.min_requests)} requests per arm`],
      ["Steps", `${(g.steps || []).join(" → ")} % · one per ${fmt.duration(g.cooldown_s)}`],
      ["Evaluates here", g.this_replica_evaluates ? "yes (this replica holds the guard's lease)" : "no (another replica does)"],
    ]),
    h("h3", {}, "Rules (v2 is stepped down when any holds)"),
    rules.length ? h("ul", { class: "guard-rules" }, rules) : emptyState("No rules: add some under guard.rules in rollout.yaml."),
    h("h3", {}, "Evidence over the window"),
    evidenceTable(g.evidence, `v1 against v2 over the last ${fmt.duration(g.window_s)}, from the ledger`),
    lastStep(g.last_step),
  );
}

function pair(summary, pick) {
  return `${pick(summary.v1 || {})} / ${pick(summary.v2 || {})}`;
}

function similarity(value) {
  return value === null || value === undefined ? "—" : Number(value).toFixed(2);
}

function traceLink(id, label) {
  return id ? h("a", { href: `#/traces/${encodeURIComponent(id)}` }, label) : null;
}

function summaryTable(summary) {
  const rows = Object.entries(summary || {}).map(([node, s]) => ({ node, ...s }));
  return table(
    [
      { label: "Node", value: (r) => r.node },
      { label: "Comparisons", num: true, value: (r) => fmt.count(r.comparisons) },
      { label: "Similarity (mean)", num: true, value: (r) => similarity(r.similarity_mean) },
      { label: "p50 v1 / v2", num: true, value: (r) => pair(r, (a) => fmt.ms(a.latency_p50_ms)) },
      { label: "p95 v1 / v2", num: true, value: (r) => pair(r, (a) => fmt.ms(a.latency_p95_ms)) },
      { label: "Cost / request v1 / v2", num: true, value: (r) => pair(r, (a) => fmt.usd(a.cost_per_request_usd)) },
      { label: "Error rate v1 / v2", num: true, value: (r) => pair(r, (a) => fmt.pct(a.error_rate)) },
      { label: "Output chars v1 / v2", num: true, value: (r) => pair(r, (a) => fmt.count(Math.round(a.output_chars_mean || 0))) },
    ],
    rows,
    {
      caption: "Per node over the window",
      empty:
        "No shadow comparisons in the window. Set a shadow share above (legacy get_llm_client calls that take v1 then also run on v2 in the background) and they appear here.",
    },
  );
}

function outcome(ok, error) {
  return ok ? badge("ok") : h("span", {}, badge("error"), error ? ` ${error}` : "");
}

function recentTable(recent) {
  return table(
    [
      { label: "When", value: (r) => fmt.time(r.at) },
      { label: "Node", value: (r) => r.node },
      { label: "Models v1 → v2", value: (r) => `${r.v1_model || "—"} → ${r.v2_model || "—"}` },
      { label: "Latency v1 / v2", num: true, value: (r) => `${fmt.ms(r.v1_latency_ms)} / ${fmt.ms(r.v2_latency_ms)}` },
      { label: "Cost v1 / v2", num: true, value: (r) => `${fmt.usd(r.v1_cost_usd)} / ${fmt.usd(r.v2_cost_usd)}` },
      { label: "Similarity", num: true, value: (r) => similarity(r.similarity) },
      { label: "v1", value: (r) => outcome(r.v1_ok, r.v1_error) },
      { label: "v2", value: (r) => outcome(r.v2_ok, r.v2_error) },
      { label: "Traces", value: (r) => h("span", {}, traceLink(r.v1_trace_id, "v1"), " ", traceLink(r.v2_trace_id, "v2")) },
    ],
    recent || [],
    { caption: "Most recent comparisons", empty: "No comparison yet." },
  );
}

export function shadowCard(shadow) {
  const s = shadow || {};
  const budget = s.budget || {};
  const dropped = s.dropped || {};
  return card(
    "Shadow comparison",
    facts([
      ["Shadow traffic", s.enabled ? badge(`${s.percentage} % of v1 calls`, "ok") : badge("off", "muted")],
      ["In flight", `${fmt.count(s.in_flight)} of at most ${fmt.count((s.concurrency || {}).limit)}`],
      [
        "Budget today",
        `${fmt.usd(budget.spent_usd)} spent of ${fmt.usd(budget.cap_usd)}${budget.exhausted ? " — exhausted, shadows are dropped" : ""}`,
      ],
      ["Dropped", `${fmt.count(dropped.budget)} over budget · ${fmt.count(dropped.concurrency)} over concurrency`],
      ["Similarity", s.similarity_measure || "—"],
      ["Window", `last ${fmt.duration((s.window_hours || 0) * 3600)}, from the ${(s.source || "").replace("_", " ")}`],
    ]),
    summaryTable(s.summary),
    (s.recent || []).length ? recentTable(s.recent) : null,
  );
}
