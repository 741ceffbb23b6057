// One trace (#/traces/<id>): the request, the selection (model, reasons, fallback chain, the
// models rejected), every attempt on a timeline, tokens and the exact cost, the error.
import { api } from "./api.js";
import { append, h } from "./dom.js";
import * as fmt from "./format.js";
import { usdExact } from "./money.js";
import { timeline } from "./timeline.js";
import { badge, card, emptyState, pageHeader, table } from "./ui.js";

const STATUS_KINDS = { ok: "ok", error: "bad", refused: "warn", cancelled: "warn" };

export function statusBadge(trace) {
  const status = trace.status || (trace.ok ? "ok" : "error");
  return badge(status, STATUS_KINDS[status] || "muted");
}

export function totalTokens(usage) {
  if (!usage) return null;
  return usage.total_tokens ?? (usage.prompt_tokens || 0) + (usage.completion_tokens || 0);
}

function facts(pairs) {
  const list = h("dl", { class: "facts" });
  for (const [term, value] of pairs) {
    if (value === undefined || value === null || value === "") continue;
    list.append(h("dt", {}, term), h("dd", {}, value));
  }
  return list;
}

function requestCard(trace) {
  return card(
    "Request",
    facts([
      ["Status", statusBadge(trace)],
      ["Node", trace.node_name],
      ["Caller node", trace.caller_node],
      ["Answered by", trace.model ? `${trace.model} (${trace.provider || "?"}: ${trace.provider_model_id || "?"})` : "no model answered"],
      ["Requested model", trace.requested_model],
      ["Strategy", trace.strategy],
      ["Rollout arm", trace.arm],
      ["Stream", trace.stream ? "yes" : "no"],
      ["Started", fmt.time(trace.timestamp)],
      ["Duration", fmt.ms(trace.duration_ms)],
      ["Client key", trace.api_key_id],
      ["User", trace.user_id],
      ["Request id", trace.request_id ? h("span", { class: "mono" }, trace.request_id) : null],
    ]),
  );
}

function selectionCard(trace) {
  const rejected = Object.entries(trace.rejected || {});
  const chain = trace.fallback_chain || [];
  const reasons = trace.selection_reasons || [];
  return card(
    "Selection",
    facts([
      ["Selected model", trace.selected_model ? h("strong", {}, trace.selected_model) : null],
      ["Chosen by", trace.selection_source],
    ]),
    h("h3", {}, "Reasons"),
    reasons.length ? h("ul", { class: "reasons" }, reasons.map((r) => h("li", {}, r))) : h("p", { class: "subtle" }, "No reasons were recorded."),
    h("h3", {}, "Fallback chain"),
    chain.length
      ? h("ol", { class: "chain", "aria-label": "Fallback chain, in order" }, chain.map((m) => h("li", {}, m)))
      : h("p", { class: "subtle" }, "No fallback: the selected model was the only one eligible."),
    rejected.length
      ? h(
          "details",
          { class: "rejected" },
          h("summary", {}, `Rejected models (${rejected.length})`),
          table(
            [
              { label: "Model", value: ([model]) => model },
              { label: "Why not", prose: true, value: ([, why]) => why.join("; ") },
            ],
            rejected,
          ),
        )
      : null,
  );
}

function attemptsCard(trace) {
  const attempts = trace.attempts || [];
  if (!attempts.length) {
    return card(
      "Attempts",
      emptyState(
        trace.status === "refused"
          ? "No model was called: the request was refused before its first attempt (see the error below). Nothing was billed."
          : "No attempt was recorded for this request.",
      ),
    );
  }
  return card(
    "Attempts",
    timeline(attempts, trace.duration_ms),
    table(
      [
        { label: "#", num: true, value: (a) => String(attempts.indexOf(a) + 1) },
        { label: "Model", value: (a) => a.model },
        { label: "Start", num: true, value: (a) => fmt.ms(a.start_ms) },
        { label: "Duration", num: true, value: (a) => fmt.ms(a.duration_ms) },
        { label: "Outcome", value: (a) => (a.skipped ? badge("skipped", "muted") : badge(a.ok ? "ok" : a.error_type || "failed", a.ok ? "ok" : "bad")) },
        { label: "HTTP", num: true, value: (a) => (a.upstream_status ? String(a.upstream_status) : "") },
        { label: "Then", prose: true, value: (a) => a.decision || "" },
        { label: "Error", prose: true, value: (a) => a.error || "" },
      ],
      attempts,
    ),
  );
}

function costCard(trace) {
  const usage = trace.usage || {};
  const cost = trace.cost || {};
  const tokens = [
    ["Prompt tokens", usage.prompt_tokens],
    ["of which cached", usage.cached_prompt_tokens],
    ["Completion tokens", usage.completion_tokens],
    ["of which reasoning", usage.reasoning_tokens],
    ["Total tokens", totalTokens(trace.usage)],
  ];
  return card(
    "Tokens and cost",
    h(
      "div",
      { class: "grid trace-cost" },
      facts(tokens.map(([label, value]) => [label, value === undefined || value === null ? null : fmt.count(value)])),
      facts([
        ["Cost", cost.total !== undefined ? h("strong", { class: "trace-cost-total" }, usdExact(cost.total)) : "—"],
        ["Input", usdExact(cost.input)],
        ["Cached input", usdExact(cost.cached_input)],
        ["Output", usdExact(cost.output)],
        ["Reasoning", usdExact(cost.reasoning)],
        ["Cost from", cost.source === "provider" ? "the provider's reported cost" : cost.source === "policy" ? "list prices (model_policies.yaml)" : cost.source],
        ["Provider reported", usage.provider_cost ? usdExact(usage.provider_cost) : null],
        ["Estimated input tokens", trace.estimated_input_tokens !== undefined ? fmt.count(trace.estimated_input_tokens) : null],
      ]),
    ),
    !usage.total_tokens && !trace.usage ? h("p", { class: "subtle" }, "No usage was reported: nothing was billed.") : null,
  );
}

function errorCard(trace) {
  const error = trace.error;
  if (!error) return null;
  return card(
    "Error",
    facts([
      ["Type", h("span", { class: "mono" }, error.type || "")],
      ["Code", error.code ? h("span", { class: "mono" }, error.code) : null],
      ["Message", error.message],
    ]),
  );
}

function contentCard(trace) {
  if (!trace.prompt && !trace.completion) return null;
  const messages = (trace.prompt || []).map((m) => h("div", {}, h("h3", {}, m.role), h("pre", { class: "code" }, m.content || "")));
  return card("Content", messages, trace.completion ? [h("h3", {}, "completion"), h("pre", { class: "code" }, trace.completion)] : null);
}

function requestsCard(trace, id, selected, backQuery) {
  if (!trace.requests || trace.requests.length < 2) return null;
  const link = (r) => {
    const params = new URLSearchParams(backQuery);
    params.set("request", r.request_id);
    return h("a", { href: `#/traces/${encodeURIComponent(id)}?${params}`, "aria-current": r.request_id === selected.request_id ? "true" : null }, fmt.time(r.timestamp));
  };
  return card(
    `Requests with this trace id (${trace.request_count})`,
    h("p", { class: "subtle" }, "Callers that reuse a trace id send several requests under it; each is kept. Newest first."),
    table(
      [
        { label: "Time", value: link },
        { label: "Status", value: (r) => statusBadge(r) },
        { label: "Model", value: (r) => r.model || "—" },
        { label: "Duration", num: true, value: (r) => fmt.ms(r.duration_ms) },
        { label: "Cost", num: true, value: (r) => usdExact(r.cost && r.cost.total) },
      ],
      trace.requests,
    ),
  );
}

export async function renderTrace(root, ctx, id, backHash) {
  const back = h("a", { href: backHash, class: "back-link" }, "← Back to traces");
  let trace;
  try {
    trace = await api(`/traces/${encodeURIComponent(id)}`, { signal: ctx.signal });
  } catch (error) {
    if (error.name === "AbortError" || error.status !== 404) throw error;
    root.append(
      back,
      pageHeader("Trace not found"),
      h("p", { class: "field-error", role: "alert" }, error.describe()),
      emptyState("Check the id (every response carries it in X-Trace-Id), or find the request in the list: failures are always kept, successful requests for a sampled share."),
    );
    return;
  }
  const backQuery = backHash.includes("?") ? backHash.slice(backHash.indexOf("?") + 1) : "";
  const wanted = ctx.params.get("request");
  const selected = (wanted && (trace.requests || []).find((r) => r.request_id === wanted)) || trace;
  const view = h("div", { class: "trace-view" });
  root.append(view);
  append(view, [
    back,
    pageHeader("Trace", h("span", { class: "mono trace-id" }, id)),
    requestsCard(trace, id, selected, backQuery),
    errorCard(selected),
    h("div", { class: "grid" }, requestCard(selected), selectionCard(selected)),
    attemptsCard(selected),
    costCard(selected),
    contentCard(selected),
  ]);
}
