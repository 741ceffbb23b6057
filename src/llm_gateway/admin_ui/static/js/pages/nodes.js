// Nodes: every node with its requirements, the model selection gives it now, its fallback chain
// and any override; set or clear an override, bulk edit, and test a selection. Live.
import { api } from "../api.js";
import { append, clear, field, h, nextId, replace } from "../dom.js";
import { bulkEditForm } from "../bulk-edit.js";
import { clearErrors, errorSlot, showError } from "../field-errors.js";
import {
  appliedLine,
  capabilityBadges,
  chainView,
  datalist,
  modelLink,
  modelOptions,
  overrideView,
  requirementsView,
  selectedView,
  warningsList,
} from "../node-views.js";
import { testSelectionForm } from "../test-selection.js";
import { card, notify, notifyError, pageHeader, table } from "../ui.js";

const REFRESH_MS = 10000;
const NODES_LIST = "nodes-options";
const MODELS_LIST = "models-options";

async function load(signal) {
  const [policies, catalogue] = await Promise.all([api("/policies", { signal }), api("/models", { signal })]);
  return { policies, models: catalogue.models || [] };
}

function nodesTable(policies, actions) {
  const rows = Object.entries(policies.nodes || {}).map(([node, entry]) => ({ node, ...entry }));
  return table(
    [
      {
        label: "Node",
        value: (r) =>
          h("div", {}, h("span", { class: "mono node-name" }, r.node), r.requirements && r.requirements.description ? h("div", { class: "subtle" }, r.requirements.description) : null),
      },
      { label: "Requirements", value: (r) => requirementsView(r.requirements) },
      { label: "Preferred", value: (r) => capabilityBadges(r.requirements ? r.requirements.preferred_capabilities : [], "muted") },
      { label: "Strategy", value: (r) => r.strategy || (r.requirements && r.requirements.default_strategy) || "—" },
      { label: "Model now", value: selectedView },
      { label: "Fallback chain", value: (r) => chainView(r.fallback_chain) },
      { label: "Override", value: overrideView },
      {
        label: "Actions",
        value: (r) =>
          h(
            "div",
            { class: "row-actions" },
            h("button", { type: "button", class: "button small", "aria-label": `Override ${r.node}`, onclick: () => actions.edit(r.node) }, "Override…"),
            r.override
              ? h("button", { type: "button", class: "button small", "aria-label": `Clear override of ${r.node}`, onclick: () => actions.clear(r.node) }, "Clear")
              : null,
          ),
      },
    ],
    rows,
    {
      empty: "No nodes are configured: add them to config/node_requirements.yaml and reload (Config page).",
      rowAttrs: (r) => ({ "data-node": r.node }),
    },
  );
}

// The override form: PUT /policies/{node} and DELETE /policies/{node}, with the gateway's
// validation (unknown node 404, unknown model or unmet requirements 422) shown at the field.
function overrideForm(refresh) {
  const nodeInput = h("input", { name: "node", list: NODES_LIST, autocomplete: "off", spellcheck: "false" });
  const modelInput = h("input", { name: "model_id", list: MODELS_LIST, autocomplete: "off", spellcheck: "false" });
  const reason = h("input", { name: "reason", maxlength: 500, autocomplete: "off" });
  const force = h("input", { type: "checkbox", id: nextId("force") });
  const slot = errorSlot();
  const result = h("div", { class: "result", role: "status" });
  const setButton = h("button", { type: "submit", class: "button primary" }, "Set override");
  const clearButton = h("button", { type: "button", class: "button" }, "Clear override");
  const controls = { node: nodeInput, model_id: modelInput, reason, force };

  const form = h(
    "form",
    { class: "override-form", novalidate: true, "aria-label": "Set or clear an override" },
    h(
      "div",
      { class: "form-row" },
      field("Node", nodeInput),
      field("Model", modelInput, "a model id of the catalogue"),
      field("Reason", reason, "kept in the audit log"),
    ),
    h("div", { class: "check-field" }, force, h("label", { for: force.id }, "Force: set it even if the model fails the node's hard requirements")),
    slot,
    h("div", { class: "form-row" }, setButton, clearButton),
    result,
  );

  function needNode() {
    const node = nodeInput.value.trim();
    if (!node) {
      showError(slot, "Enter the node (its name in node_requirements.yaml).");
      nodeInput.setAttribute("aria-invalid", "true");
      nodeInput.focus();
    }
    return node;
  }

  async function write(button, call) {
    clearErrors(form, slot);
    clear(result);
    button.disabled = true;
    try {
      await call();
      await refresh();
    } catch (error) {
      if (error.name === "AbortError") return;
      const control = showError(slot, error, controls);
      if (control) control.focus();
    } finally {
      button.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const node = needNode();
    if (!node) return;
    const model = modelInput.value.trim();
    if (!model) {
      showError(slot, "Enter the model to serve the node.");
      modelInput.setAttribute("aria-invalid", "true");
      modelInput.focus();
      return;
    }
    write(setButton, async () => {
      const body = { model_id: model, mode: "override", force: force.checked, reason: reason.value.trim() || undefined };
      const answer = await api(`/policies/${encodeURIComponent(node)}`, { method: "PUT", body });
      const text = `Override set: ${node} → ${answer.after.model_id}${appliedLine(answer)}`;
      append(result, [
        h("p", {}, text),
        h("p", {}, "Selection now gives it ", modelLink(answer.effective_model), "."),
        warningsList(answer.warnings),
      ]);
      notify(text, "success");
    });
  });

  async function clearOverride(node) {
    const answer = await api(`/policies/${encodeURIComponent(node)}`, { method: "DELETE" });
    const text = answer.removed
      ? `Override of ${node} cleared${appliedLine(answer)}`
      : `${node} had no override: nothing changed`;
    result.append(h("p", {}, text), h("p", {}, "Selection now gives it ", modelLink(answer.effective_model), "."));
    notify(text, "success");
  }

  clearButton.addEventListener("click", () => {
    const node = needNode();
    if (node) write(clearButton, () => clearOverride(node));
  });

  return {
    element: form,
    edit(node) {
      nodeInput.value = node;
      clearErrors(form, slot);
      form.scrollIntoView({ block: "nearest" });
      modelInput.focus();
    },
    // From a row of the table: the outcome shows at the top of the page (and in the form).
    async clear(node) {
      nodeInput.value = node;
      clearErrors(form, slot);
      clear(result);
      try {
        await clearOverride(node);
        await refresh();
      } catch (error) {
        if (error.name !== "AbortError") notifyError(error, `Clearing the override of ${node} failed`);
      }
    },
  };
}

function allCapabilities(models, nodes) {
  const found = new Set();
  for (const m of models) for (const c of m.capabilities || []) found.add(c);
  for (const entry of Object.values(nodes)) {
    for (const c of (entry.requirements && entry.requirements.preferred_capabilities) || []) found.add(c);
  }
  return [...found].sort();
}

export async function render(root, ctx) {
  const data = await load(ctx.signal);
  const version = h("span", { class: "mono" }, data.policies.config_version);
  const tableHolder = h("div", {});
  const lists = h("div", { hidden: true });
  let listed = "";
  // Suggestions for the node and model inputs; rebuilt only when they change (an open list of
  // suggestions would close otherwise).
  const fillLists = ({ policies, models }) => {
    const nodes = Object.keys(policies.nodes || {}).map((n) => [n]);
    const options = modelOptions(models);
    const key = JSON.stringify([nodes, options]);
    if (key === listed) return;
    listed = key;
    replace(lists, datalist(NODES_LIST, nodes), datalist(MODELS_LIST, options));
  };

  let bulk = null;
  const show = (next) => {
    replace(tableHolder, nodesTable(next.policies, actions));
    version.textContent = next.policies.config_version;
    fillLists(next);
    if (bulk) bulk.update(next.policies.nodes || {});
  };
  const refresh = async () => show(await load(ctx.signal));
  const override = overrideForm(refresh);
  const actions = {
    edit: (node) => override.edit(node),
    clear: async (node) => {
      await override.clear(node);
      // the Clear button is gone: keep the keyboard in the row
      const again = tableHolder.querySelector(`tr[data-node="${CSS.escape(node)}"] button`);
      if (again) again.focus();
    },
  };
  bulk = bulkEditForm(data.policies.nodes || {}, { modelsList: MODELS_LIST, onApplied: refresh });
  const nodeNames = Object.keys(data.policies.nodes || {});

  root.append(
    pageHeader("Nodes", "config ", version, ` · refreshes every ${REFRESH_MS / 1000} s`),
    lists,
    card("Nodes and their models", tableHolder),
    card("Set or clear an override", h("p", { class: "subtle" }, "Takes effect for the next request on every replica, durably; audited."), override.element),
    card("Bulk edit", bulk.element),
    card("Test selection", testSelectionForm({ nodesList: NODES_LIST, capabilities: allCapabilities(data.models, data.policies.nodes || {}), node: nodeNames[0] })),
  );
  show(data);
  // Live: the table only (never a form being filled in), and not while a control in it has focus.
  ctx.every(REFRESH_MS, async () => {
    if (tableHolder.contains(document.activeElement) || document.querySelector("dialog[open]")) return;
    show(await load(ctx.signal));
  });
}
