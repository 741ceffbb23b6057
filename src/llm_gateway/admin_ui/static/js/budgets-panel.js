// Budgets (GET /budgets): cap, spent, reserved and remaining per scope and period, live; a form
// that sets a scope's caps (PUT /budgets/{scope}, replacing the files' entry) and a clear
// button per admin scope (DELETE, confirmed). Each write shows the gateway's answer.
import { api } from "./api.js";
import { field, h, nextId, replace } from "./dom.js";
import { clearErrors, errorSlot, showError } from "./field-errors.js";
import * as fmt from "./format.js";
import { usdExact } from "./money.js";
import { appliedText, badge, card, confirmDialog, notify, notifyError, table } from "./ui.js";

const REFRESH_MS = 5000;
const CAP_FIELDS = ["hour", "day", "month"];

function used(row) {
  const cap = Number(row.cap);
  return cap > 0 ? (Number(row.spent) + Number(row.reserved)) / cap : 0;
}

// A budget refuses once what is left is below what a request reserves (its estimate), so one
// whose last refused request would still not fit is exhausted, remaining above zero or not.
function refusing(row) {
  const last = row.last_refusal_here;
  return Boolean(last && last.estimate !== null && Number(last.estimate) > Number(row.remaining));
}

function state(row) {
  if (Number(row.remaining) <= 0 || refusing(row)) return badge("exhausted", "bad");
  const warn = (row.warn_at || []).length ? Math.min(...row.warn_at) : null;
  if (warn !== null && Number(row.spent) / Number(row.cap) >= warn) return badge("warning", "warn");
  return badge("open", "ok");
}

function refusals(row) {
  const last = row.last_refusal_here;
  if (!row.refusals_here || !last) return h("span", { class: "subtle" }, "none");
  const need = last.estimate !== null ? `, needed up to $${last.estimate}` : ", counters unreadable";
  return `${fmt.count(row.refusals_here)} (last ${fmt.ago(last.at)}${need})`;
}

function meter(row) {
  const share = Math.min(1, used(row));
  const fill = h("span", { class: ["meter-fill", share >= 1 ? "full" : null] });
  fill.style.width = `${(share * 100).toFixed(2)}%`; // CSSOM: no inline style attribute
  return h(
    "span",
    { class: "meter-wrap" },
    h("span", { class: "meter", role: "img", "aria-label": `${fmt.pct(share, 0)} of the cap spent or reserved` }, fill),
    h("span", { class: "meter-text" }, fmt.pct(share, 0)),
  );
}

function budgetsTable(answer, onEdit, onClear) {
  const rows = answer.budgets || [];
  const cleared = new Set();
  return table(
    [
      { label: "Scope", value: (r) => h("span", { class: "mono" }, r.scope) },
      { label: "Period", value: (r) => r.period },
      { label: "State", value: state },
      { label: "Cap", num: true, value: (r) => usdExact(r.cap) },
      { label: "Spent", num: true, value: (r) => usdExact(r.spent) },
      { label: "Reserved", num: true, value: (r) => usdExact(r.reserved) },
      { label: "Remaining", num: true, value: (r) => usdExact(r.remaining) },
      { label: "Used", value: meter },
      { label: "Refused here", value: refusals },
      { label: "Resets", value: (r) => h("span", { title: fmt.time(r.reset_at) }, `in ${fmt.duration(r.reset_in_s)}`) },
      { label: "Caps from", value: (r) => (r.source === "admin" ? badge("admin", "info") : "budgets.yaml") },
      {
        label: "Actions",
        value: (r) => {
          const edit = h("button", { type: "button", class: "button small", "aria-label": `Edit budget ${r.scope}`, "data-scope": r.scope }, "Edit");
          edit.addEventListener("click", () => onEdit(r.scope));
          if (r.source !== "admin" || cleared.has(r.scope)) return edit;
          cleared.add(r.scope); // one clear button per scope, on its first period
          const clear = h("button", { type: "button", class: "button small danger", "aria-label": `Clear admin budget ${r.scope}` }, "Clear");
          clear.addEventListener("click", () => onClear(r.scope));
          return h("span", { class: "budget-actions" }, edit, " ", clear);
        },
      },
    ],
    rows,
    { empty: "No budget is set. Set a cap below (or in budgets.yaml) to stop spend past it: requests that could exceed it are refused with 429." },
  );
}

function status(answer) {
  if (answer.available) return h("p", { class: "subtle" }, `Fail mode ${answer.fail_mode}: while the shared counters do not answer, budgeted requests are ${answer.fail_mode === "closed" ? "refused" : "kept to this replica's share"}.`);
  return h("p", { class: "field-error", role: "alert" }, `The shared budget counters do not answer (${answer.error || "unknown"}): the figures are this replica's view as of its last sync.`);
}

function inputFor(name, attrs = {}) {
  return h("input", { name, id: nextId(`budget-${name}`), autocomplete: "off", spellcheck: "false", ...attrs });
}

// A number typed, or the text itself when it is not one: the gateway then refuses it naming the
// field (Number("lots") is NaN, which JSON sends as null, and null means "no output cap").
function numberOrText(text) {
  const number = Number(text);
  return Number.isFinite(number) ? number : text;
}

// The PUT body from the form: caps as the decimal strings typed, warn_at as fractions.
function bodyOf(inputs) {
  const body = {};
  for (const name of CAP_FIELDS) if (inputs[name].value.trim()) body[name] = inputs[name].value.trim();
  const warn = inputs.warn_at.value.trim();
  if (warn) body.warn_at = warn.split(/[,\s]+/).filter(Boolean).map(numberOrText);
  const output = inputs.output_cap.value.trim();
  if (output) body.output_cap = numberOrText(output);
  if (inputs.reason.value.trim()) body.reason = inputs.reason.value.trim();
  return body;
}

function budgetForm(suggestions, onSaved) {
  const inputs = {
    scope: inputFor("scope", { list: "budget-scopes", required: true, class: "mono" }),
    hour: inputFor("hour", { inputmode: "decimal" }),
    day: inputFor("day", { inputmode: "decimal" }),
    month: inputFor("month", { inputmode: "decimal" }),
    warn_at: inputFor("warn_at", { inputmode: "decimal" }),
    output_cap: inputFor("output_cap", { inputmode: "numeric" }),
    reason: inputFor("reason", { maxlength: "500" }),
  };
  const slot = errorSlot();
  const result = h("p", { class: "result", role: "status" });
  const wrap = (label, name, hint) => field(label, inputs[name], hint);
  const form = h(
    "form",
    { class: "budget-form", "aria-label": "Set a budget", novalidate: true },
    h("datalist", { id: "budget-scopes" }, suggestions.map((s) => h("option", { value: s }))),
    h(
      "div",
      { class: "form-row" },
      wrap("Scope", "scope", "gateway, node:<node>, model:<model> or key:<client key name>"),
      wrap("Hourly cap (USD)", "hour", "empty: no cap"),
      wrap("Daily cap (USD)", "day", "UTC day"),
      wrap("Monthly cap (USD)", "month", "UTC month"),
    ),
    h(
      "div",
      { class: "form-row" },
      wrap("Warn at", "warn_at", "fractions of a cap, e.g. 0.8, 0.9"),
      wrap("Output cap (tokens)", "output_cap", "max_tokens reserved when a request sets none"),
      wrap("Reason", "reason", "kept in the audit log"),
    ),
    h("p", { class: "subtle" }, "Saving replaces every cap of the scope (a period left empty has no cap), on every replica, audited."),
    h("button", { type: "submit", class: "button primary" }, "Set budget"),
    slot,
    result,
  );
  // The gateway's message under the form, the field it names (error.param) marked invalid.
  const fail = (error) => {
    const control = showError(slot, error, inputs) || inputs.scope;
    control.focus();
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form, slot);
    result.textContent = "";
    const scope = inputs.scope.value.trim();
    if (!scope) return fail({ message: "Enter a scope, e.g. gateway or node:writer.", param: "scope" });
    const body = bodyOf(inputs);
    if (!CAP_FIELDS.some((name) => name in body)) {
      const ok = await confirmDialog(`Lift every cap of ${scope}?`, "No cap is filled in: saving lifts every cap of this scope, budgets.yaml's included, until it is cleared.", { confirm: "Lift every cap", danger: true });
      if (!ok) return;
    }
    try {
      const answer = await api(`/budgets/${encodeURIComponent(scope)}`, { method: "PUT", body });
      const caps = CAP_FIELDS.filter((p) => answer.caps[p]).map((p) => `${p} $${answer.caps[p]}`).join(", ") || "no cap";
      const text = `Budget ${answer.scope} set: ${caps}${appliedText(answer)}.`;
      result.textContent = text;
      notify(text, "success");
      await onSaved();
    } catch (error) {
      fail(error);
      notifyError(error, `Setting the budget ${scope} failed`);
    }
  });
  const edit = (scope, admin) => {
    clearErrors(form, slot);
    result.textContent = "";
    inputs.scope.value = scope;
    const caps = admin[scope] || {};
    for (const name of [...CAP_FIELDS, "output_cap"]) inputs[name].value = caps[name] ?? "";
    inputs.warn_at.value = (caps.warn_at || []).join(", ");
    inputs.reason.value = "";
    inputs.scope.focus();
  };
  return { form, edit, scope: inputs.scope };
}

async function scopeSuggestions(signal) {
  const [policies, models] = await Promise.all([api("/policies", { signal }), api("/models", { signal })]);
  return [
    "gateway",
    ...Object.keys(policies.nodes || {}).sort().map((n) => `node:${n}`),
    ...(models.models || []).map((m) => `model:${m.model_id}`).sort(),
  ];
}

export async function budgetsPanel(container, ctx) {
  const tableBox = h("div", { class: "budgets-table" });
  let admin = {};
  const load = async () => {
    const answer = await api("/budgets", { signal: ctx.signal });
    admin = answer.admin || {};
    replace(tableBox, status(answer), budgetsTable(answer, (scope) => editor.edit(scope, admin), clear));
  };
  const clear = async (scope) => {
    const ok = await confirmDialog(`Clear the admin budget ${scope}?`, "The scope goes back to budgets.yaml's caps (none if the file has no entry for it), on every replica.", { confirm: "Clear budget", danger: true });
    if (!ok) return;
    try {
      const answer = await api(`/budgets/${encodeURIComponent(scope)}`, { method: "DELETE" });
      notify(`Budget ${scope} cleared: back to ${answer.caps ? "budgets.yaml's caps" : "no cap"}${appliedText(answer)}.`, "success");
      await load();
      // its Clear button is gone: the keyboard goes to the scope's row if it still has one
      // (budgets.yaml's caps), else to the form that sets a budget
      const row = tableBox.querySelector(`button[data-scope="${CSS.escape(scope)}"]`);
      (row || editor.scope).focus();
    } catch (error) {
      notifyError(error, `Clearing the budget ${scope} failed`);
    }
  };
  const editor = budgetForm(await scopeSuggestions(ctx.signal), load);
  replace(container, card("Budgets", tableBox, h("h3", {}, "Set a budget"), editor.form));
  await load();
  // Live, but never under the person's hands: a refresh waits while focus is in the table.
  ctx.every(REFRESH_MS, async () => {
    if (tableBox.contains(document.activeElement)) return;
    await load();
  });
}
