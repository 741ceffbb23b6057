// Audit log: every admin change (GET /audit), newest first, filtered by action and target
// (kept in the address: #/audit?action=flags.set&target=rollout), each with its before → after.
import { api } from "../api.js";
import { changeView } from "../changes.js";
import { field, h, nextId, replace, select } from "../dom.js";
import * as fmt from "../format.js";
import { badge, card, notifyError, pageHeader, table } from "../ui.js";

const ACTIONS = [
  "override.set",
  "override.delete",
  "override.bulk",
  "model.disable",
  "model.enable",
  "config.reload",
  "flags.set",
  "flags.rollback",
  "flags.guard_step",
  "budget.set",
  "budget.delete",
  "alert.test",
];
const LIMITS = ["50", "100", "250", "500", "1000"];

function filterForm(params, navigate) {
  const listId = nextId("actions");
  const action = h("input", { type: "text", name: "action", list: listId, value: params.get("action") || "", autocomplete: "off", spellcheck: "false" });
  const target = h("input", { type: "text", name: "target", value: params.get("target") || "", autocomplete: "off", spellcheck: "false" });
  const limit = select(LIMITS, { value: params.get("limit") || "100", name: "limit" });
  const form = h(
    "form",
    { class: "form-row", "aria-label": "Filter the audit log" },
    field("Action", action, "exact, e.g. flags.set"),
    h("datalist", { id: listId }, ACTIONS.map((a) => h("option", { value: a }))),
    field("Target", target, "exact: a node, model, rule, scope or rollout"),
    field("Show at most", limit),
    h("button", { type: "submit", class: "button primary" }, "Filter"),
    h("a", { class: "button", href: "#/audit" }, "Clear filters"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    if (action.value.trim()) query.set("action", action.value.trim());
    if (target.value.trim()) query.set("target", target.value.trim());
    if (limit.value !== "100") query.set("limit", limit.value);
    const text = query.toString();
    navigate(`#/audit${text ? "?" + text : ""}`);
  });
  return form;
}

function filtered(params) {
  return Boolean(params.get("action") || params.get("target"));
}

function entriesTable(answer, params) {
  return table(
    [
      { label: "When", value: (e) => h("div", {}, fmt.time(e.at), h("div", { class: "subtle" }, fmt.ago(e.at))) },
      { label: "Actor", value: (e) => e.actor },
      { label: "Action", value: (e) => h("span", { class: "mono" }, e.action) },
      { label: "Target", value: (e) => h("span", { class: "mono audit-target" }, e.target) },
      { label: "Change", value: (e) => changeView(e.before, e.after) },
      { label: "Note", value: (e) => h("div", {}, e.forced ? badge("forced", "warn") : null, e.detail ? h("div", {}, e.detail) : null) },
      { label: "Client", value: (e) => h("span", { class: "mono" }, e.client || "—") },
    ],
    answer.entries || [],
    {
      caption: `${fmt.count(answer.count)} entr${answer.count === 1 ? "y" : "ies"}, newest first`,
      empty: filtered(params)
        ? "No change matches these filters. Clear them, or check the action's exact name (e.g. flags.set)."
        : "No admin change yet. Overrides, model switches, budgets, flags, reloads and alert tests are recorded here as they happen.",
    },
  );
}

export async function render(root, ctx) {
  const params = ctx.params;
  const query = { action: params.get("action"), target: params.get("target"), limit: params.get("limit") || 100 };
  const body = h("div", { id: "audit-entries" });
  const refresh = h("button", { type: "button", class: "button" }, "Refresh");
  root.append(pageHeader("Audit log", refresh), card("Filter", filterForm(params, ctx.navigate)), body);
  const load = async () => replace(body, entriesTable(await api("/audit", { query, signal: ctx.signal }), params));
  refresh.addEventListener("click", async () => {
    refresh.disabled = true;
    try {
      await load();
    } catch (error) {
      if (error.name !== "AbortError") notifyError(error, "Loading the audit log failed");
    } finally {
      refresh.disabled = false;
    }
  });
  await load();
}
