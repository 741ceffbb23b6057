// One model (#/models/<id>): its catalogue entry, health, traffic from the ledger, the nodes it
// serves or backs up, its recent traces; disable or enable it. Live.
import { api } from "./api.js";
import { field, h, replace } from "./dom.js";
import * as fmt from "./format.js";
import { circuitState, modelState, nodesServedBy, switchModel } from "./model-switch.js";
import { capabilityBadges, modelLink } from "./node-views.js";
import { badge, card, emptyState, notifyError, pageHeader, stat, table } from "./ui.js";

const REFRESH_MS = 10000;

async function load(id, signal) {
  const query = (hours) => ({ hours, model: id });
  const [catalogue, health, policies, lastHour, lastDay, traces] = await Promise.all([
    api("/models", { signal }),
    api("/health", { signal }),
    api("/policies", { signal }),
    api("/metrics", { query: query(1), signal }),
    api("/metrics", { query: query(24), signal }),
    api("/traces", { query: { ...query(24), limit: 10 }, signal }),
  ]);
  const model = (catalogue.models || []).find((m) => m.model_id === id) || null;
  return { model, health: (health.models || {})[id], policies, lastHour, lastDay, traces: traces.traces || [] };
}

function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.filter(Boolean).flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
  );
}

function optional(value, show = String) {
  return value === null || value === undefined ? h("span", { class: "subtle" }, "not set") : show(value);
}

function entryCard(m) {
  return card(
    "Catalogue entry",
    facts([
      ["Provider", m.provider],
      ["Provider model", h("span", { class: "mono" }, m.provider_model_id)],
      ["Cost tier", m.cost_tier],
      ["Context window", `${fmt.count(m.context_window)} tokens`],
      ["Max output", optional(m.max_output_tokens, (v) => `${fmt.count(v)} tokens`)],
      ["Capabilities", capabilityBadges(m.capabilities)],
      ["Input / 1k tokens", fmt.usd(m.input_cost_per_1k)],
      ["Output / 1k tokens", fmt.usd(m.output_cost_per_1k)],
      ["Cached input / 1k", optional(m.cached_input_cost_per_1k, fmt.usd)],
      ["Reasoning / 1k", optional(m.reasoning_cost_per_1k, fmt.usd)],
      ["Quality", `${Number(m.quality_score).toFixed(2)} ${m.quality_declared ? "(declared)" : "(from tier and capabilities)"}`],
      ["Typical latency", optional(m.typical_latency_ms, fmt.ms)],
      ["Fallbacks", m.fallback_models.length ? h("span", { class: "fallbacks" }, m.fallback_models.map((f, i) => [i ? " → " : "", modelLink(f)])) : "none"],
      ["Rate limits", m.rpm || m.tpm ? `${m.rpm ? fmt.count(m.rpm) + " requests" : ""}${m.rpm && m.tpm ? ", " : ""}${m.tpm ? fmt.count(m.tpm) + " tokens" : ""} per minute` : "none"],
      m.description ? ["Description", m.description] : null,
    ]),
  );
}

function healthCard(m, health) {
  const o = m.observed;
  return card(
    "Health",
    facts([
      ["State", modelState(m, health)],
      ["Circuit", circuitState(health)],
      ["Consecutive failures", health ? fmt.count(health.consecutive_failures) : "—"],
      ["Last error", health && health.last_error ? h("span", { class: "field-error" }, health.last_error) : "none"],
      health && health.auto_disabled_by_alert ? ["Auto-disabled by alert", health.auto_disabled_by_alert] : null,
      ["Observed error rate", o ? fmt.pct(o.error_rate) : "not yet observed"],
      ["Observed latency", o ? fmt.ms(o.latency_ms) : "not yet observed"],
      ["Samples", o ? fmt.count(o.samples) : "0"],
    ]),
  );
}

function trafficStats(label, metrics) {
  return [
    h("h3", {}, label),
    h(
      "div",
      { class: "stats" },
      stat("Requests", fmt.count(metrics.request_count), `${fmt.count(metrics.error_count)} failed`),
      stat("Error rate", fmt.pct(metrics.error_rate)),
      stat("Latency p50 / p95", `${fmt.ms(metrics.p50_duration_ms)} / ${fmt.ms(metrics.p95_duration_ms)}`),
      stat("Cost", fmt.usd(metrics.total_cost_usd)),
    ),
  ];
}

function trafficCard(data) {
  return card(
    "Traffic",
    trafficStats("Last hour", data.lastHour),
    trafficStats("Last 24 hours", data.lastDay),
    h("p", { class: "subtle" }, "Every request this model answered, from the ledger."),
  );
}

function nodesCard(policies, id) {
  const rows = Object.entries(policies.nodes || {})
    .map(([node, entry]) => {
      const roles = [];
      if (entry.model_id === id) roles.push(entry.source === "override" ? "served now (override)" : "served now");
      const position = (entry.fallback_chain || []).indexOf(id);
      if (position >= 0) roles.push(`fallback ${position + 1}`);
      if (entry.override && entry.override.model_id === id && entry.model_id !== id) roles.push("override (skipped now)");
      if (entry.requirements && entry.requirements.default_model === id) roles.push("default model");
      return { node, roles };
    })
    .filter((r) => r.roles.length);
  return card(
    "Nodes",
    table(
      [
        { label: "Node", value: (r) => h("a", { href: "#/nodes", class: "mono" }, r.node) },
        { label: "Role", value: (r) => r.roles.join(", ") },
      ],
      rows,
      { empty: "No node uses this model now, nor as a fallback. Set an override on the Nodes page to send a node to it." },
    ),
  );
}

function tracesCard(traces) {
  return card(
    "Recent traces (24 h)",
    table(
      [
        { label: "Trace", value: (t) => h("a", { href: `#/traces/${encodeURIComponent(t.trace_id)}`, class: "mono" }, t.trace_id.slice(0, 12)) },
        { label: "When", value: (t) => fmt.time(t.timestamp) },
        { label: "Node", value: (t) => t.node_name },
        { label: "Status", value: (t) => badge(t.ok ? "ok" : t.status || "error") },
        { label: "Duration", num: true, value: (t) => fmt.ms(t.duration_ms) },
        { label: "Cost", num: true, value: (t) => fmt.usd(t.cost && t.cost.total) },
      ],
      traces,
      { empty: "No kept trace answered by this model in the last 24 hours: send a request to a node it serves." },
    ),
  );
}

function switchCard(data, id, reload, lastChange) {
  const enabled = !data.model.disabled_by_admin;
  const reason = h("input", { maxlength: 500, autocomplete: "off" });
  const button = h("button", { type: "button", class: ["button", enabled ? "danger" : "primary"] }, enabled ? "Disable model" : "Enable model");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const answer = await switchModel(id, !enabled, { reason: reason.value.trim(), serving: nodesServedBy(data.policies, id) });
      if (answer) {
        lastChange.text = `Last change: ${answer.text}`;
        await reload();
      }
    } catch (error) {
      if (error.name !== "AbortError") notifyError(error, `${enabled ? "Disabling" : "Enabling"} ${id} failed`);
    } finally {
      button.disabled = false;
    }
  });
  return card(
    enabled ? "Disable" : "Enable",
    h("p", { class: "subtle" }, enabled
      ? "A disabled model is never selected nor used as a fallback, on every replica, until it is enabled again. Durable and audited."
      : "Disabled by an admin: enabling it makes it eligible for selection again on every replica."),
    h("div", { class: "form-row" }, field("Reason", reason, "kept in the audit log"), button),
    lastChange.text ? h("p", { class: "result", role: "status" }, lastChange.text) : null,
  );
}

function view(data, id, reload, lastChange) {
  const m = data.model;
  return [
    trafficCard(data),
    h("div", { class: "grid" }, entryCard(m), healthCard(m, data.health)),
    switchCard(data, id, reload, lastChange),
    nodesCard(data.policies, id),
    tracesCard(data.traces),
  ];
}

export async function renderModelDetail(root, ctx, id) {
  const data = await load(id, ctx.signal);
  const back = h("a", { href: "#/models" }, "All models");
  if (!data.model) {
    root.append(
      pageHeader(id, back),
      emptyState(`The catalogue has no model '${id}'. Choose one on the Models page, or add it to config/model_policies.yaml and reload (Config page).`),
    );
    return;
  }
  const state = h("span", {}, modelState(data.model, data.health));
  const body = h("div", {});
  const lastChange = { text: "" }; // survives the re-render after the switch
  const show = (next) => {
    replace(state, modelState(next.model, next.health));
    replace(body, view(next, id, reload, lastChange));
  };
  const reload = async () => {
    const next = await load(id, ctx.signal);
    if (next.model) show(next);
  };
  root.append(pageHeader(id, state, " · ", back), body);
  show(data);
  ctx.every(REFRESH_MS, async () => {
    if (body.contains(document.activeElement) || document.querySelector("dialog[open]")) return;
    await reload();
  });
}
