// The test-selection form: POST /test-selection for a node, extra capabilities and a strategy,
// showing the chosen model, the chain, the reasons, the scores and every rejected model with why.
// Nothing is called upstream.
import { api } from "./api.js";
import { append, clear, field, h, nextId, select } from "./dom.js";
import { clearErrors, errorSlot, showError } from "./field-errors.js";
import * as fmt from "./format.js";
import { capabilityBadges, chainView, modelLink } from "./node-views.js";
import { table } from "./ui.js";

const STRATEGIES = [
  ["balanced", "balanced"],
  ["cost_optimized", "cost optimized"],
  ["quality_optimized", "quality optimized"],
  ["latency_optimized", "latency optimized"],
];

const SOURCES = { override: "the admin override", default_model: "the node's default model", score: "the best score" };

function rejectedTable(rejected) {
  const rows = Object.entries(rejected || {}).map(([model, why]) => ({ model, why }));
  return table(
    [
      { label: "Model", value: (r) => modelLink(r.model) },
      { label: "Why it was rejected", prose: true, value: (r) => r.why.join("; ") },
    ],
    rows,
    { empty: "No model was rejected: every model of the catalogue qualifies." },
  );
}

function scoresTable(scores, chosen) {
  const rows = Object.entries(scores || {})
    .map(([model, s]) => ({ model, ...s }))
    .sort((a, b) => b.total - a.total);
  return table(
    [
      { label: "Model", value: (r) => h("span", {}, modelLink(r.model), r.model === chosen ? " (chosen)" : "") },
      { label: "Score", num: true, value: (r) => r.total.toFixed(3) },
      { label: "Cost", num: true, value: (r) => r.cost.toFixed(2) },
      { label: "Quality", num: true, value: (r) => r.quality.toFixed(2) },
      { label: "Latency", num: true, value: (r) => r.latency.toFixed(2) },
      { label: "Reliability", num: true, value: (r) => r.reliability.toFixed(2) },
      { label: "Expected cost / request", num: true, value: (r) => fmt.usd(r.expected_cost_usd) },
      { label: "Latency used", num: true, value: (r) => `${fmt.ms(r.latency_ms)} ${r.observed ? "observed" : "declared"}` },
    ],
    rows,
    { empty: "No model was scored (an override or the node's default model chose without scoring)." },
  );
}

function resultView(answer) {
  const req = answer.requirements || {};
  return [
    h("h3", {}, `Selection for ${answer.node_name}`),
    answer.node_configured === false
      ? h("p", { class: "subtle" }, "This node has no entry of its own in node_requirements.yaml: the closest pattern, or the default entry, applies.")
      : null,
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Chosen model"),
      h("dd", { class: "chosen-model" }, modelLink(answer.selected_model)),
      h("dt", {}, "Chosen by"),
      h("dd", {}, SOURCES[answer.source] || answer.source),
      h("dt", {}, "Strategy"),
      h("dd", {}, answer.strategy),
      h("dt", {}, "Chain"),
      h("dd", {}, chainView(answer.chain)),
      h("dt", {}, "Requirements"),
      h(
        "dd",
        {},
        capabilityBadges(req.required_capabilities),
        h("span", { class: "subtle" }, ` context ≥ ${fmt.count(req.min_context_window)} · tier ≤ ${req.max_cost_tier}`),
      ),
    ),
    h("h3", {}, "Reasons"),
    h("ul", { class: "reasons" }, (answer.reasons || []).map((r) => h("li", {}, r))),
    h("h3", {}, "Eligible models"),
    scoresTable(answer.scores, answer.selected_model),
    h("h3", {}, "Rejected models"),
    rejectedTable(answer.rejected),
  ];
}

// testSelectionForm({nodesList, capabilities, node}) → the form element.
export function testSelectionForm({ nodesList, capabilities, node }) {
  const nodeInput = h("input", { name: "node_name", list: nodesList, autocomplete: "off", spellcheck: "false", value: node || "" });
  const strategy = select(STRATEGIES, { name: "strategy", includeBlank: "the node's own" });
  const boxes = capabilities.map((c) => {
    const box = h("input", { type: "checkbox", value: c, id: nextId("cap") });
    return { c, box, item: h("div", { class: "check-field" }, box, h("label", { for: box.id }, c)) };
  });
  const slot = errorSlot();
  const result = h("div", { class: "result selection-result", role: "status" });
  const submit = h("button", { type: "submit", class: "button primary" }, "Test selection");
  const controls = { node_name: nodeInput, strategy, capabilities: boxes.length ? boxes[0].box : null };

  const form = h(
    "form",
    { class: "test-selection-form", novalidate: true, "aria-label": "Test selection" },
    h("div", { class: "form-row" }, field("Node", nodeInput, "any node name; nothing is called"), field("Strategy", strategy)),
    h(
      "fieldset",
      { class: "capabilities" },
      h("legend", {}, "Also require these capabilities"),
      boxes.length ? boxes.map((b) => b.item) : h("p", { class: "subtle" }, "The catalogue lists no capabilities."),
    ),
    slot,
    h("div", { class: "form-row" }, submit),
    result,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form, slot);
    clear(result);
    const nodeName = nodeInput.value.trim();
    if (!nodeName) {
      showError(slot, "Enter the node to select for.", {});
      nodeInput.setAttribute("aria-invalid", "true");
      nodeInput.focus();
      return;
    }
    const body = { node_name: nodeName, capabilities: boxes.filter((b) => b.box.checked).map((b) => b.c) };
    if (strategy.value) body.strategy = strategy.value;
    submit.disabled = true;
    try {
      const answer = await api("/test-selection", { method: "POST", body });
      append(result, resultView(answer));
    } catch (error) {
      if (error.name === "AbortError") return;
      showError(slot, error, controls);
      const rejected = error.body && error.body.error && error.body.error.rejected;
      if (rejected) result.append(h("h3", {}, `Rejected models: none qualifies for ${nodeName}`), rejectedTable(rejected));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
