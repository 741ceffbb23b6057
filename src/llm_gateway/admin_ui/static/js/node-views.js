// How a node and its selection read on screen: requirements, the model it gets, its chain and
// override. Shared by the Nodes page's table and its forms.
import { h } from "./dom.js";
import * as fmt from "./format.js";
import { appliedText, badge } from "./ui.js";

export function modelLink(id) {
  if (!id) return "—";
  return h("a", { href: `#/models/${encodeURIComponent(id)}`, class: "mono" }, id);
}

export function capabilityBadges(list, kind = "info") {
  if (!list || list.length === 0) return h("span", { class: "subtle" }, "none");
  return h("span", { class: "cap-chips" }, list.map((c) => badge(c, kind)));
}

// The hard constraints of a node: required capabilities (reasoning when reasoning_required),
// the smallest context window and the dearest tier it accepts.
export function requirementsView(req) {
  if (!req) return "—";
  const required = [...req.required_capabilities];
  if (req.reasoning_required && !required.includes("reasoning")) required.push("reasoning");
  return h(
    "div",
    { class: "requirements" },
    h("div", {}, h("span", { class: "subtle" }, "needs "), capabilityBadges(required)),
    h("div", { class: "subtle" }, `context ≥ ${fmt.count(req.min_context_window)} · tier ≤ ${req.max_cost_tier}`),
    req.default_model ? h("div", { class: "subtle" }, "default model ", modelLink(req.default_model)) : null,
    req.fallback_outside_requirements ? h("div", { class: "subtle" }, "may fall back outside its requirements") : null,
    req.cache_ttl_s ? h("div", { class: "subtle" }, `cached ${fmt.duration(req.cache_ttl_s)}`) : null,
  );
}

const SOURCE_LABELS = {
  override: ["override", "info"],
  default_model: ["default model", "muted"],
  score: ["best score", "muted"],
};

// The model selection gives the node now, and why (override, the node's default, the score).
export function selectedView(entry) {
  if (!entry.model_id) {
    return h("div", {}, badge("no model", "bad"), entry.error ? h("div", { class: "field-error" }, entry.error) : null);
  }
  const [label, kind] = SOURCE_LABELS[entry.source === "override" ? "override" : entry.selection_source] || [entry.source, "muted"];
  return h(
    "div",
    {},
    modelLink(entry.model_id),
    " ",
    badge(label, kind),
    entry.default_model && entry.default_model !== entry.model_id
      ? h("div", { class: "subtle" }, "files alone: ", modelLink(entry.default_model))
      : null,
  );
}

export function chainView(chain) {
  if (!chain || chain.length === 0) return h("span", { class: "subtle" }, "no fallback");
  return h(
    "ol",
    { class: "chain" },
    chain.map((id) => h("li", {}, modelLink(id))),
  );
}

export function overrideView(entry) {
  const override = entry.override;
  if (!override) return h("span", { class: "subtle" }, "none");
  return h(
    "div",
    {},
    modelLink(override.model_id),
    override.forced ? [" ", badge("forced", "warn")] : null,
    h("div", { class: "subtle" }, `by ${override.actor}, ${fmt.ago(override.created_at)}`),
    entry.override_skipped && entry.override_skipped.length
      ? h("div", { class: "field-error" }, "skipped now: ", entry.override_skipped.join("; "))
      : null,
  );
}

// <datalist> of ids for an <input list=…>: suggestions that still let a person type anything
// (the gateway, not the page, says what is valid).
export function datalist(id, items) {
  return h(
    "datalist",
    { id },
    items.map(([value, label]) => h("option", { value, label: label || null })),
  );
}

export function modelOptions(models) {
  return models.map((m) => [m.model_id, `${m.cost_tier} · ${fmt.count(m.context_window)} tokens${m.disabled_by_admin ? " · disabled" : ""}`]);
}

// What an admin write's answer says of the replicas: how many applied it, the ones that did not
// yet, and the state store's warning when it could not be asked (the change is then local).
export function appliedLine(answer) {
  if (!answer || answer.applied_by === undefined) return "";
  let text = answer.replicas === null ? ` — applied by ${answer.applied_by} replica` : appliedText(answer);
  if (answer.pending && answer.pending.length) text += ` (not yet: ${answer.pending.join(", ")})`;
  if (answer.warning) text += `; ${answer.warning}`;
  return text;
}

export function warningsList(warnings) {
  const list = Array.isArray(warnings) ? warnings : Object.entries(warnings || {}).flatMap(([node, why]) => why.map((w) => `${node}: ${w}`));
  if (!list.length) return null;
  return h("ul", { class: "warnings" }, list.map((w) => h("li", {}, w)));
}
