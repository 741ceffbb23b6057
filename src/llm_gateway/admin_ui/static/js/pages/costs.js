// Costs: spend over time by node and by model (GET /spend), the savings report and its evidence
// (GET /cost-optimization), and the budgets with spent / reserved / remaining, where a cap is
// set or cleared (GET / PUT / DELETE /budgets). The window lives in the hash (?hours=).
import { api } from "../api.js";
import { budgetsPanel } from "../budgets-panel.js";
import { lineChart } from "../charts.js";
import { field, h, replace, select } from "../dom.js";
import * as fmt from "../format.js";
import { savingsCard } from "../savings.js";
import { usdExact } from "../money.js";
import { card, emptyState, pageHeader, table } from "../ui.js";

const WINDOWS = [
  ["1", "Last hour"],
  ["6", "Last 6 hours"],
  ["24", "Last 24 hours"],
  ["168", "Last 7 days"],
  ["720", "Last 30 days"],
];

function hoursOf(params) {
  const value = params.get("hours");
  return WINDOWS.some(([v]) => v === value) ? value : "24";
}

function windowForm(hours, ctx) {
  const choice = select(WINDOWS, { value: hours, name: "hours" });
  const form = h(
    "form",
    { class: "form-row", "aria-label": "Costs window" },
    field("Window", choice, "for the spend charts and the savings report"),
    h("button", { type: "submit", class: "button primary" }, "Show"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate(choice.value === "24" ? "#/costs" : `#/costs?hours=${choice.value}`);
  });
  return form;
}

// An API answer or the error it gave: each card shows its own error, the others still show.
async function settled(promise) {
  try {
    return { value: await promise };
  } catch (error) {
    if (error.name === "AbortError") throw error;
    return { error };
  }
}

function inlineError(what, error) {
  return h("p", { class: "field-error", role: "alert" }, `${what}: ${error.describe ? error.describe() : error.message}`);
}

function seriesName(series, by) {
  if (series.other) return `other (${series.keys} ${by}s)`;
  if (series.key === null) return by === "model" ? "no model (refused)" : "unknown";
  return series.key;
}

// Axis ticks: two significant figures are enough to read a chart (the tables are exact).
function tickUsd(value) {
  const number = Number(value);
  if (number === 0) return "$0";
  if (number >= 1) return `$${number.toFixed(2)}`;
  return `$${number.toFixed(Math.min(20, 1 - Math.floor(Math.log10(number))))}`;
}

function xFormat(hours) {
  if (Number(hours) <= 6) return undefined; // the chart's own: hours and minutes
  if (Number(hours) <= 48) return (x) => new Date(x).toLocaleString(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit" });
  return (x) => new Date(x).toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

function spendCard(title, by, result, hours) {
  if (result.error) return card(title, inlineError(`Spend by ${by} could not be read`, result.error));
  const spend = result.value;
  if (!spend.series.length) {
    return card(title, emptyState(`No requests in this window. Spend shows here once requests are answered (every request is in the ledger, sampled or not).`));
  }
  const series = spend.series.map((s) => ({
    name: seriesName(s, by),
    points: spend.buckets.map((at, i) => [at, Number(s.cost_usd[i])]),
  }));
  const label = `Spend by ${by} per ${fmt.duration(spend.bucket_s)}: ` + spend.series.map((s) => `${seriesName(s, by)} $${s.total_cost_usd}`).join(", ");
  return card(
    title,
    lineChart(series, { label, yFormat: tickUsd, xFormat: xFormat(hours) }),
    table(
      [
        { label: by === "node" ? "Node" : "Model", value: (s) => seriesName(s, by) },
        { label: "Requests", num: true, value: (s) => fmt.count(s.total_requests) },
        { label: "Spend", num: true, value: (s) => usdExact(s.total_cost_usd) },
      ],
      spend.series,
      { caption: `Total ${fmt.count(spend.requests)} requests, $${spend.total_cost_usd}, in buckets of ${fmt.duration(spend.bucket_s)} (UTC-aligned)` },
    ),
  );
}

async function loadSpend(hours, signal) {
  const [byNode, byModel] = await Promise.all([
    settled(api("/spend", { query: { hours, by: "node" }, signal })),
    settled(api("/spend", { query: { hours, by: "model" }, signal })),
  ]);
  return { byNode, byModel };
}

async function loadSavings(hours, signal) {
  return settled(api("/cost-optimization", { query: { hours }, signal }));
}

export async function render(root, ctx) {
  const hours = hoursOf(ctx.params);
  const label = WINDOWS.find(([v]) => v === hours)[1].toLowerCase();
  const charts = h("div", { class: "costs-charts" });
  const savings = h("div", { id: "savings" });
  const budgets = h("div", { id: "budgets" });
  root.append(pageHeader("Costs", `spend and savings over the ${label}`), windowForm(hours, ctx), charts, savings, budgets);
  const [spend, report] = await Promise.all([loadSpend(hours, ctx.signal), loadSavings(hours, ctx.signal)]);
  replace(charts, spendCard("Spend by node", "node", spend.byNode, hours), spendCard("Spend by model", "model", spend.byModel, hours));
  replace(savings, report.error ? card("Savings report", inlineError("The savings report could not be read", report.error)) : savingsCard(report.value));
  await budgetsPanel(budgets, ctx);
}
