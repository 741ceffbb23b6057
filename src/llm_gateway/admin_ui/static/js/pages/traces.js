// Traces: the kept traces of a time window, filtered by node, model and status (the filter is
// the hash's query, so a view can be linked and reloaded), a trace-id search, and the trace
// view at #/traces/<id>.
import { api } from "../api.js";
import { field, h, nextId, replace, select } from "../dom.js";
import * as fmt from "../format.js";
import { usdExact } from "../money.js";
import { renderTrace, statusBadge, totalTokens } from "../trace-detail.js";
import { card, notifyError, pageHeader, stat, table } from "../ui.js";

const WINDOWS = [
  ["0.25", "Last 15 minutes"],
  ["1", "Last hour"],
  ["6", "Last 6 hours"],
  ["24", "Last 24 hours"],
  ["168", "Last 7 days"],
  ["720", "Last 30 days"],
];
const STATUSES = [
  ["", "Any status"],
  ["ok", "OK"],
  ["failed", "Failed (error, refused or cancelled)"],
  ["error", "Error"],
  ["refused", "Refused (budget, rate limit)"],
  ["cancelled", "Cancelled by the caller"],
];
const FILTER_KEYS = ["hours", "node", "model", "status", "limit"];

// The filter as the hash holds it, with defaults for what it leaves out.
function filterOf(params) {
  const hours = Number(params.get("hours"));
  const limit = Number(params.get("limit"));
  return {
    hours: Number.isFinite(hours) && hours > 0 ? String(hours) : "1",
    node: params.get("node") || "",
    model: params.get("model") || "",
    status: STATUSES.some(([v]) => v === params.get("status")) ? params.get("status") : "",
    limit: Number.isInteger(limit) && limit >= 1 && limit <= 1000 ? String(limit) : "100",
  };
}

// Only what differs from the defaults goes in the hash.
function filterQuery(filter) {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = filter[key];
    if (!value || (key === "hours" && value === "1") || (key === "limit" && value === "100")) continue;
    params.set(key, value);
  }
  return params.toString();
}

function apiQuery(filter) {
  const failed = filter.status === "failed";
  return {
    hours: filter.hours,
    limit: filter.limit,
    node: filter.node,
    model: filter.model,
    status: failed ? "" : filter.status,
    errors_only: failed ? "true" : "",
  };
}

function windowLabel(hours) {
  const known = WINDOWS.find(([v]) => Number(v) === Number(hours));
  return known ? known[1].toLowerCase() : `last ${hours} h`;
}

// The options plus the hash's value when it is not among them (a node no longer configured, a
// window typed into the address), so the form always shows the filter in force.
function withCurrent(options, value, label = value) {
  const known = options.some((o) => (Array.isArray(o) ? o[0] : o) === value);
  return value && !known ? [...options, [value, label]] : options;
}

function filterForm(filter, options, ctx) {
  const hours = select(withCurrent(WINDOWS, filter.hours, `Last ${filter.hours} h`), { value: filter.hours, name: "hours" });
  const node = select(withCurrent(options.nodes, filter.node), { value: filter.node, name: "node", includeBlank: "Every node" });
  const model = select(withCurrent(options.models, filter.model), { value: filter.model, name: "model", includeBlank: "Every model" });
  const status = select(STATUSES, { value: filter.status, name: "status" });
  const form = h(
    "form",
    { class: "form-row traces-filter", role: "search", "aria-label": "Filter traces" },
    field("Time window", hours),
    field("Node", node),
    field("Model", model, "the model that answered"),
    field("Status", status),
    h("button", { type: "submit", class: "button primary" }, "Apply filter"),
    h("a", { href: "#/traces", class: "button" }, "Clear"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = { ...filter, hours: hours.value, node: node.value, model: model.value, status: status.value };
    const query = filterQuery(next);
    ctx.navigate(`#/traces${query ? "?" + query : ""}`);
  });
  return form;
}

function searchForm(ctx, query) {
  const input = h("input", { type: "search", name: "trace_id", spellcheck: "false", autocomplete: "off", class: "mono", required: true });
  const error = h("p", { class: "field-error", role: "alert", id: nextId("error") });
  input.setAttribute("aria-errormessage", error.id);
  const form = h(
    "form",
    { class: "form-row", role: "search", "aria-label": "Find a trace by id", novalidate: true },
    field("Trace id", input, "from a response's X-Trace-Id header"),
    h("button", { type: "submit", class: "button" }, "Open trace"),
    error,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = input.value.trim();
    if (!id) {
      error.textContent = "Enter a trace id.";
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    ctx.navigate(`#/traces/${encodeURIComponent(id)}${query ? "?" + query : ""}`);
  });
  return form;
}

function metricsRow(metrics) {
  return h(
    "div",
    { class: "stats" },
    stat("Requests", fmt.count(metrics.request_count), "every request, sampled or not"),
    stat("Error rate", fmt.pct(metrics.error_rate), `${fmt.count(metrics.error_count || 0)} failed or refused`),
    stat("Latency p95", fmt.ms(metrics.p95_duration_ms), `avg ${fmt.ms(metrics.avg_duration_ms)}`),
    stat("Cost", usdExact(metrics.total_cost_usd ?? metrics.total_cost), "of every request in the window"),
  );
}

function tracesTable(traces, query, filter) {
  const suffix = query ? "?" + query : "";
  return table(
    [
      { label: "Time", value: (t) => fmt.time(t.timestamp) },
      {
        label: "Trace",
        value: (t) =>
          h("a", { href: `#/traces/${encodeURIComponent(t.trace_id)}${suffix}`, class: "mono trace-link" }, h("span", { class: "visually-hidden" }, "Trace "), t.trace_id),
      },
      { label: "Node", value: (t) => t.node_name },
      { label: "Model", value: (t) => t.model || h("span", { class: "subtle" }, `none (selected ${t.selected_model || "—"})`) },
      { label: "Status", value: (t) => statusBadge(t) },
      { label: "Attempts", num: true, value: (t) => String((t.attempts || []).filter((a) => !a.skipped).length) },
      { label: "Duration", num: true, value: (t) => fmt.ms(t.duration_ms) },
      { label: "Tokens", num: true, value: (t) => fmt.count(totalTokens(t.usage)) },
      { label: "Cost", num: true, value: (t) => usdExact(t.cost && t.cost.total) },
    ],
    traces,
    {
      empty: `No kept traces in the ${windowLabel(filter.hours)}${filter.node || filter.model || filter.status ? " match this filter" : ""}. Widen the time window or clear the filter; successful requests are kept for a sampled share (GATEWAY_TRACE_SAMPLING_RATE), failures always.`,
      caption: `${traces.length} trace${traces.length === 1 ? "" : "s"}, newest first${traces.length >= Number(filter.limit) ? ` (the newest ${filter.limit} only)` : ""}`,
    },
  );
}

async function filterOptions(signal) {
  const [policies, models] = await Promise.all([api("/policies", { signal }), api("/models", { signal })]);
  return {
    nodes: Object.keys(policies.nodes || {}).sort(),
    models: (models.models || []).map((m) => m.model_id).sort(),
  };
}

async function renderList(root, ctx) {
  const filter = filterOf(ctx.params);
  const query = filterQuery(filter);
  const body = h("div", { id: "traces-body", "aria-live": "polite" });
  const refresh = h("button", { type: "button", class: "button" }, "Refresh");
  const options = await filterOptions(ctx.signal);
  root.append(
    pageHeader("Traces", refresh),
    card("Filter", filterForm(filter, options, ctx), searchForm(ctx, query)),
    body,
  );
  const load = async () => {
    const answer = await api("/traces", { query: apiQuery(filter), signal: ctx.signal });
    replace(body, metricsRow(answer.metrics || {}), card("Kept traces", tracesTable(answer.traces || [], query, filter)));
  };
  refresh.addEventListener("click", async () => {
    refresh.disabled = true;
    try {
      await load();
    } catch (error) {
      if (error.name !== "AbortError") notifyError(error, "Refreshing traces failed");
    } finally {
      refresh.disabled = false;
    }
  });
  await load();
}

export async function render(root, ctx) {
  if (ctx.segments.length) {
    const query = filterQuery(filterOf(ctx.params));
    await renderTrace(root, ctx, ctx.segments[0], `#/traces${query ? "?" + query : ""}`);
    return;
  }
  await renderList(root, ctx);
}
