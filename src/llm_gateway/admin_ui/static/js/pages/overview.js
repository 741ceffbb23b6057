// Overview: health, per-model status, traffic, cost against budgets, rollout and replicas; live.
import { api } from "../api.js";
import { h, replace } from "../dom.js";
import * as fmt from "../format.js";
import { badge, card, emptyState, pageHeader, stat, table } from "../ui.js";

const REFRESH_MS = 5000;

function hoursSince(date) {
  return Math.max((Date.now() - date.getTime()) / 3_600_000, 1 / 60);
}

function startOfDayUtc() {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

function startOfMonthUtc() {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

async function load() {
  const [health, lastHour, lastFive, today, month, budgets, flags, replicas] = await Promise.all([
    api("/health"),
    api("/metrics", { query: { hours: 1 } }),
    api("/metrics", { query: { hours: 5 / 60 } }),
    api("/metrics", { query: { hours: hoursSince(startOfDayUtc()).toFixed(4) } }),
    api("/metrics", { query: { hours: hoursSince(startOfMonthUtc()).toFixed(4) } }),
    api("/budgets"),
    api("/flags"),
    api("/replicas"),
  ]);
  // p50 / p95 per model over the last hour, for the models that answered in it
  const answered = Object.keys(lastHour.model_distribution || {}).slice(0, 20);
  const perModel = await Promise.all(answered.map((model) => api("/metrics", { query: { hours: 1, model } })));
  const latency = Object.fromEntries(answered.map((model, i) => [model, perModel[i]]));
  return { health, lastHour, lastFive, today, month, budgets, flags, replicas, latency };
}

function budgetFor(budgets, period) {
  return (budgets.budgets || []).find((b) => b.scope === "gateway" && b.period === period);
}

function costStat(label, metrics, budget) {
  const spent = metrics.total_cost_usd;
  if (!budget) return stat(label, fmt.usd(spent), "no gateway budget for this period");
  const share = Number(budget.cap) > 0 ? Number(budget.spent) / Number(budget.cap) : 0;
  return stat(label, fmt.usd(spent), `budget ${fmt.usd(budget.cap)} · ${fmt.pct(share, 0)} used · ${fmt.usd(budget.remaining)} left`);
}

function summary(data) {
  const { lastHour, lastFive, today, month, budgets } = data;
  return h(
    "div",
    { class: "stats" },
    stat("Requests / min", (lastFive.request_count / 5).toFixed(1), "last 5 minutes"),
    stat("Requests", fmt.count(lastHour.request_count), "last hour"),
    stat("Error rate", fmt.pct(lastHour.error_rate), `${fmt.count(lastHour.error_count)} failed, last hour`),
    stat("Latency p50 / p95", `${fmt.ms(lastHour.p50_duration_ms)} / ${fmt.ms(lastHour.p95_duration_ms)}`, "last hour"),
    costStat("Cost today (UTC)", today, budgetFor(budgets, "day")),
    costStat("Cost this month", month, budgetFor(budgets, "month")),
  );
}

function modelRows(data) {
  const models = data.health.models || {};
  return Object.entries(models).map(([id, m]) => ({ id, ...m, window: data.latency[id] }));
}

function modelStatus(row) {
  if (row.disabled_by_admin) return badge("disabled", "bad");
  if (row.auto_disabled_by_alert) return badge("auto-disabled", "bad");
  if (!row.enabled) return badge("disabled", "bad");
  return badge(row.circuit);
}

function modelsCard(data) {
  const rows = modelRows(data).sort((a, b) => (b.window ? b.window.request_count : 0) - (a.window ? a.window.request_count : 0));
  return card(
    "Models",
    table(
      [
        { label: "Model", value: (r) => h("a", { href: `#/models/${encodeURIComponent(r.id)}` }, r.id) },
        { label: "Provider", value: (r) => r.provider },
        { label: "Status", value: modelStatus },
        { label: "Requests (1 h)", num: true, value: (r) => fmt.count(r.window ? r.window.request_count : 0) },
        // per attempt (health's smoothed recent outcomes, shown from 5 attempts on): a failure a
        // retry or fallback rescued still counts here, unlike in the requests it answered
        { label: "Attempt error rate", num: true, value: (r) => fmt.pct(r.recent_error_rate) },
        { label: "p50", num: true, value: (r) => fmt.ms(r.window ? r.window.p50_duration_ms : null) },
        { label: "p95", num: true, value: (r) => fmt.ms(r.window ? r.window.p95_duration_ms : null) },
        { label: "Last error", prose: true, value: (r) => r.last_error || "" },
      ],
      rows,
      { empty: "No models are configured: add them to config/model_policies.yaml and reload (Config page)." },
    ),
  );
}

function rolloutCard(flags) {
  const guard = flags.guard || {};
  const nodes = Object.entries(flags.node_percentages || {});
  return card(
    "Rollout",
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Gateway v2"),
      h("dd", {}, badge(flags.v2_enabled ? "enabled" : "off", flags.v2_enabled ? "ok" : "muted")),
      h("dt", {}, "Share on v2"),
      h("dd", {}, `${flags.v2_percentage} %`, nodes.length ? ` (${nodes.map(([n, p]) => `${n} ${p} %`).join(", ")})` : ""),
      h("dt", {}, "Shadow traffic"),
      h("dd", {}, `${flags.shadow_percentage} %`),
      h("dt", {}, "Rollback guard"),
      h("dd", {}, badge(guard.state || "off"), flags.pinned ? " pinned" : ""),
    ),
    h("a", { href: "#/rollout" }, "Rollout controls"),
  );
}

function replicasCard(replicas) {
  return card(
    `Replicas (${replicas.count})`,
    replicas.error ? h("p", { class: "field-error" }, replicas.error) : null,
    table(
      [
        { label: "Replica", value: (r) => h("span", { class: "mono" }, r.id, r.this ? " (this)" : "") },
        { label: "Config", value: (r) => h("span", { class: "mono" }, r.config_version) },
        { label: "Heartbeat", num: true, value: (r) => `${r.heartbeat_age_s} s ago` },
      ],
      replicas.replicas || [],
      { empty: "No replica has reported a heartbeat yet." },
    ),
    h("p", { class: "subtle" }, `State backend: ${replicas.backend}`),
  );
}

function providersLine(health) {
  return Object.entries(health.providers || {}).map(([name, p]) =>
    h("span", { class: "provider" }, `${name} `, badge(p.status), p.detail ? ` ${p.detail}` : "", " "),
  );
}

function view(data) {
  const { health, lastHour } = data;
  const noTraffic = lastHour.request_count === 0;
  return [
    h("div", { class: "health-banner card" }, h("strong", {}, "Gateway health"), badge(health.overall_status), h("span", {}, providersLine(health))),
    summary(data),
    noTraffic
      ? emptyState("No requests in the last hour. Send one to /v1/chat/completions or /api/chat/<node> and it shows here within seconds.")
      : null,
    modelsCard(data),
    h("div", { class: "grid" }, rolloutCard(data.flags), replicasCard(data.replicas)),
    lastHour.source ? h("p", { class: "subtle" }, `Figures from the ${lastHour.source.replace("_", " ")}.`) : null,
  ];
}

export async function render(root, ctx) {
  const body = h("div", { id: "overview-body" });
  root.append(pageHeader("Overview", `refreshes every ${REFRESH_MS / 1000} s`), body);
  replace(body, view(await load()));
  ctx.every(REFRESH_MS, async () => replace(body, view(await load())));
}
