// Bulk edit of node overrides: PUT /policies/bulk, all or nothing. Every node gets an input; the
// ones left blank are not part of the update. A refusal changes nothing and names each bad entry.
import { api } from "./api.js";
import { append, clear, h, nextId } from "./dom.js";
import { clearErrors, errorSlot, markInvalid, showError } from "./field-errors.js";
import { appliedLine, modelLink, warningsList } from "./node-views.js";
import { emptyState, notify } from "./ui.js";

// bulkEditForm(nodes, {modelsList, onApplied}) → {element, update(nodes)}; nodes is
// GET /policies' `nodes` (node → entry), modelsList the id of the models' <datalist>.
export function bulkEditForm(initial, { modelsList, onApplied }) {
  const slot = errorSlot();
  const result = h("div", { class: "result", role: "status" });
  const force = h("input", { type: "checkbox", id: nextId("bulk-force") });
  const reason = h("input", { id: nextId("bulk-reason"), maxlength: 500, autocomplete: "off" });
  const rowsHolder = h("div", {});
  const submit = h("button", { type: "submit", class: "button primary" }, "Apply bulk update");
  let inputs = {}; // node → {input, now, error}
  let names = [];

  function build(nodes) {
    names = Object.keys(nodes);
    inputs = {};
    if (!names.length) {
      clear(rowsHolder).append(emptyState("No nodes to edit: add them to config/node_requirements.yaml and reload (Config page)."));
      return;
    }
    const body = names.map((node) => {
      const input = h("input", {
        id: nextId("bulk"),
        name: `updates.${node}`,
        list: modelsList,
        autocomplete: "off",
        spellcheck: "false",
        placeholder: "unchanged",
      });
      const now = h("td", {}, modelLink(nodes[node].model_id));
      const error = h("td", { class: "field-error", id: nextId("bulk-error") });
      inputs[node] = { input, now, error };
      return h(
        "tr",
        {},
        h("th", { scope: "row" }, h("label", { for: input.id, class: "mono" }, node)),
        now,
        h("td", {}, input),
        error,
      );
    });
    const head = h("tr", {}, ["Node", "Model now", "New model", "Problem"].map((t) => h("th", { scope: "col" }, t)));
    clear(rowsHolder).append(h("div", { class: "table-wrap" }, h("table", { class: "bulk-table" }, h("thead", {}, head), h("tbody", {}, body))));
  }

  function update(nodes) {
    const same = Object.keys(nodes).length === names.length && names.every((n) => nodes[n]);
    if (!same) return build(nodes);
    for (const node of names) clear(inputs[node].now).append(modelLink(nodes[node].model_id));
  }

  function resetErrors() {
    clearErrors(form, slot);
    for (const { input, error } of Object.values(inputs)) {
      error.textContent = "";
      input.removeAttribute("aria-describedby");
    }
  }

  async function apply(event) {
    event.preventDefault();
    resetErrors();
    clear(result);
    const updates = {};
    for (const node of names) {
      const value = inputs[node].input.value.trim();
      if (value) updates[node] = value;
    }
    if (!Object.keys(updates).length) {
      slot.textContent = "Enter a new model for at least one node (blank ones stay as they are).";
      return;
    }
    submit.disabled = true;
    try {
      const answer = await api("/policies/bulk", {
        method: "PUT",
        body: { updates, force: force.checked, reason: reason.value.trim() || undefined },
      });
      const applied = Object.entries(answer.applied || {});
      const summary = `Bulk update applied to ${applied.length} node${applied.length === 1 ? "" : "s"}${appliedLine(answer)}`;
      append(result, [
        h("p", {}, summary),
        h("ul", {}, applied.map(([node, a]) => h("li", {}, h("span", { class: "mono" }, node), " → ", modelLink(a.after && a.after.model_id), a.effective_model && a.effective_model !== (a.after && a.after.model_id) ? ` (selection gives ${a.effective_model})` : ""))),
        warningsList(answer.warnings),
      ]);
      notify(summary, "success");
      for (const node of Object.keys(updates)) inputs[node].input.value = "";
      await onApplied();
    } catch (error) {
      if (error.name === "AbortError") return;
      showError(slot, error);
      const details = (error.body && error.body.error && error.body.error.details) || {};
      for (const [node, why] of Object.entries(details)) {
        const entry = inputs[node];
        if (!entry) continue;
        entry.error.textContent = why.join("; ");
        markInvalid(entry.input, { id: entry.error.id });
      }
      const named = error.param && error.param.startsWith("updates.") ? inputs[error.param.slice(8)] : null;
      if (named) named.input.focus();
    } finally {
      submit.disabled = false;
    }
  }

  const form = h(
    "form",
    { class: "bulk-form", novalidate: true, "aria-label": "Bulk edit overrides" },
    h("p", { class: "subtle" }, "Type a model for each node to change; blank ones stay as they are. All or nothing: one bad entry rejects the whole update."),
    rowsHolder,
    h("div", { class: "form-row" }, h("div", { class: "field" }, h("label", { for: reason.id }, "Reason"), reason), h("div", { class: "check-field" }, force, h("label", { for: force.id }, "Force past unmet requirements"))),
    slot,
    h("div", { class: "form-row" }, submit),
    result,
  );
  form.addEventListener("submit", apply);
  build(initial);
  return { element: form, update };
}
