// Rollout: the master switch, the share on v2 (global and per node), the shadow share, pinning,
// the emergency rollback (behind a confirmation), which arm a key takes, and the evidence (the
// rollback guard, shadow comparisons), refreshing live. Writes are PUT /flags and
// POST /flags/rollback; each shows how many replicas applied it.
import { api } from "../api.js";
import { field, h, nextId, replace, select } from "../dom.js";
import { clearErrors, controlFor, errorSlot, markInvalid, showError } from "../field-errors.js";
import * as fmt from "../format.js";
import { guardCard, shadowCard } from "../rollout-evidence.js";
import { appliedText, badge, card, confirmDialog, notify, notifyError, pageHeader, table } from "../ui.js";

const REFRESH_MS = 10_000;
const SHADOW_QUERY = { hours: 24, limit: 20 };
const LABELS = {
  v2_enabled: "Gateway v2 enabled",
  v2_percentage: "Share of traffic on v2 (%)",
  shadow_percentage: "Shadow share of v1 calls (%)",
  openrouter_fallback_enabled: "OpenRouter fallback",
  pinned: "Pinned (the rollback guard leaves the flags alone)",
};

function sourceNote(flags, name) {
  const source = (flags.source || {})[name];
  if (source !== "admin") return "from the environment";
  const fallback = (flags.defaults || {})[name];
  const shown = typeof fallback === "object" ? JSON.stringify(fallback) : String(fallback);
  return `set by an admin (environment default: ${shown})`;
}

function sourceBadge(flags, name) {
  const source = (flags.source || {})[name] || "env";
  return badge(source, source === "admin" ? "info" : "muted");
}

// A whole number 0–100 from an input, or an error message naming the rule.
function percentOf(text) {
  const value = String(text).trim();
  if (!/^\d{1,3}$/.test(value) || Number(value) > 100) return { error: "a whole number from 0 to 100" };
  return { value: Number(value) };
}

function setError(control, errorEl, message) {
  errorEl.textContent = message || "";
  if (message) control.setAttribute("aria-invalid", "true");
  else control.removeAttribute("aria-invalid");
}

function errorFor(control) {
  const error = h("p", { class: "field-error", id: nextId("error") });
  const described = control.getAttribute("aria-describedby");
  control.setAttribute("aria-describedby", [described, error.id].filter(Boolean).join(" "));
  return error;
}

function checkbox(name, checked, hint) {
  const input = h("input", { type: "checkbox", name, id: nextId("flag"), checked });
  const hintEl = h("span", { class: "subtle", id: nextId("hint") }, hint);
  input.setAttribute("aria-describedby", hintEl.id);
  return { input, wrap: h("div", { class: "field checkbox-field" }, input, h("label", { for: input.id }, LABELS[name]), hintEl) };
}

function percentInput(name, value, label) {
  return h("input", { type: "number", name, min: 0, max: 100, step: 1, inputmode: "numeric", value, "aria-label": label });
}

function status(flags) {
  const nodes = Object.entries(flags.node_percentages || {});
  const row = (name, value) => [h("dt", {}, LABELS[name].replace(/ \(.*\)$/, "")), h("dd", {}, value, " ", sourceBadge(flags, name))];
  return card(
    "Flags in force",
    h(
      "dl",
      { class: "facts" },
      row("v2_enabled", badge(flags.v2_enabled ? "enabled" : "off", flags.v2_enabled ? "ok" : "muted")),
      row("v2_percentage", `${flags.v2_percentage} %`),
      h("dt", {}, "Per node"),
      h("dd", {}, nodes.length ? nodes.map(([n, p]) => `${n} ${p} %`).join(", ") : "none (every node takes the share above)", " ", sourceBadge(flags, "node_percentages")),
      row("shadow_percentage", `${flags.shadow_percentage} %`),
      row("openrouter_fallback_enabled", flags.openrouter_fallback_enabled ? "on" : "off"),
      row("pinned", flags.pinned ? badge("pinned", "info") : "no"),
      h("dt", {}, "Last change"),
      h("dd", {}, flags.updated_by ? `by ${flags.updated_by}, ${fmt.ago(flags.updated_at)} (${fmt.time(flags.updated_at)})` : "none: the environment's values"),
    ),
  );
}

export async function render(root, ctx) {
  const [flags, policies, shadow] = await Promise.all([api("/flags"), api("/policies"), api("/shadow", { query: SHADOW_QUERY })]);
  const state = { flags, shadow, nodes: Object.keys(policies.nodes || {}).sort(), dirty: false, results: {} };
  const statusBox = h("div", { id: "rollout-status" });
  const pinBox = h("div");
  const formsBox = h("div", { class: "grid rollout-forms" });
  const evidenceBox = h("div", { id: "rollout-evidence" });
  root.append(pageHeader("Rollout", `flags, guard and shadow refresh every ${REFRESH_MS / 1000} s`), statusBox, pinBox, formsBox, evidenceBox);

  // What a write answered, kept across redraws under the form that made it.
  function resultLine(form) {
    const result = state.results[form];
    return h("p", { class: ["result", result ? result.kind : null], role: "status", tabindex: -1, "data-form": form }, result ? result.text : "");
  }

  async function write(form, call, describe) {
    let answer;
    try {
      answer = await call();
    } catch (error) {
      return error;
    }
    state.flags = answer.flags;
    state.dirty = false;
    const pending = (answer.pending || []).length ? `; not yet applied by ${answer.pending.join(", ")}` : "";
    const text = `${describe}${appliedText(answer)}${pending}.`;
    state.results = { [form]: { text, kind: "ok" } };
    notify(text, "success");
    drawFlags();
    // the form was redrawn with the new values: keep the keyboard where the answer is
    const line = formsBox.querySelector(`.result[data-form="${form}"]`);
    if (line) line.focus();
    return null;
  }

  function switchForm() {
    const f = state.flags;
    const enabled = checkbox("v2_enabled", f.v2_enabled, sourceNote(f, "v2_enabled"));
    const fallback = checkbox("openrouter_fallback_enabled", f.openrouter_fallback_enabled, sourceNote(f, "openrouter_fallback_enabled"));
    const pinned = checkbox("pinned", f.pinned, sourceNote(f, "pinned"));
    const percent = percentInput("v2_percentage", f.v2_percentage);
    const shadowShare = percentInput("shadow_percentage", f.shadow_percentage);
    const reason = h("input", { type: "text", name: "reason", maxlength: 500 });
    const controls = { v2_percentage: percent, shadow_percentage: shadowShare };
    const fields = {};
    const errors = {};
    for (const [name, control] of Object.entries(controls)) {
      fields[name] = field(LABELS[name], control, sourceNote(f, name));
      errors[name] = errorFor(control);
      fields[name].append(errors[name]);
    }
    const form = h(
      "form",
      { class: "form rollout-form", novalidate: true, "aria-label": "Switch and shares" },
      enabled.wrap,
      fields.v2_percentage,
      fields.shadow_percentage,
      fallback.wrap,
      pinned.wrap,
      field("Reason (kept in the audit log)", reason),
      h("div", {}, h("button", { type: "submit", class: "button primary" }, "Apply changes")),
      resultLine("switch"),
    );
    form.addEventListener("input", () => (state.dirty = true));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const changes = {};
      let invalid = null;
      for (const [name, control] of Object.entries(controls)) {
        const parsed = percentOf(control.value);
        setError(control, errors[name], parsed.error ? `${LABELS[name]}: ${parsed.error}` : "");
        if (parsed.error) invalid = invalid || control;
        else if (parsed.value !== f[name]) changes[name] = parsed.value;
      }
      if (invalid) return invalid.focus();
      for (const [name, box] of [["v2_enabled", enabled], ["openrouter_fallback_enabled", fallback], ["pinned", pinned]]) {
        if (box.input.checked !== f[name]) changes[name] = box.input.checked;
      }
      const names = Object.keys(changes);
      if (!names.length) {
        state.results = { switch: { text: "Nothing to apply: every field is as it is now.", kind: "muted" } };
        return replace(form.querySelector(".result"), state.results.switch.text);
      }
      const summary = names.map((n) => `${n} ${JSON.stringify(f[n])} → ${JSON.stringify(changes[n])}`).join(", ");
      const body = reason.value.trim() ? { ...changes, reason: reason.value.trim() } : changes;
      const failure = await write("switch", () => api("/flags", { method: "PUT", body }), `Flags changed: ${summary}`);
      if (!failure) return;
      const control = controls[failure.param];
      if (control) {
        setError(control, errors[failure.param], failure.describe());
        control.focus();
      } else notifyError(failure, "Changing the flags failed");
    });
    return card("Switch and shares", form);
  }

  function nodesForm() {
    const f = state.flags;
    const current = f.node_percentages || {};
    const nodes = [...new Set([...state.nodes, ...Object.keys(current)])];
    const inputs = {};
    const rows = nodes.map((node) => {
      inputs[node] = percentInput(`node-${node}`, current[node] ?? "", `Share on v2 for ${node} (%)`);
      inputs[node].placeholder = `${f.v2_percentage} (global)`;
      return { node };
    });
    const error = errorSlot();
    const reason = h("input", { type: "text", name: "reason", maxlength: 500 });
    const form = h(
      "form",
      { class: "rollout-nodes", novalidate: true, "aria-label": "Per-node shares" },
      h("p", { class: "subtle" }, "A node with a share of its own takes it instead of the global share; leave it blank to follow the global share. Applying replaces the whole map."),
      table(
        [
          { label: "Node", value: (r) => h("span", { class: "mono" }, r.node) },
          { label: "Share on v2 (%)", value: (r) => inputs[r.node] },
          { label: "Takes now", num: true, value: (r) => `${f.v2_enabled ? (current[r.node] ?? f.v2_percentage) : 0} %` },
        ],
        rows,
        { empty: "No nodes are configured: add them to node_requirements.yaml and reload (Config page)." },
      ),
      error,
      h("div", { class: "form-row" }, field("Reason (kept in the audit log)", reason), h("button", { type: "submit", class: "button primary" }, "Apply per-node shares")),
      resultLine("nodes"),
    );
    form.addEventListener("input", () => (state.dirty = true));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const map = {};
      clearErrors(form, error);
      for (const [node, control] of Object.entries(inputs)) {
        if (control.value.trim() === "") continue;
        const parsed = percentOf(control.value);
        if (parsed.error) {
          error.textContent = `Share on v2 for ${node}: ${parsed.error} (or blank to follow the global share).`;
          markInvalid(control, error);
          return control.focus();
        }
        map[node] = parsed.value;
      }
      const sorted = (m) => JSON.stringify(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : 1)));
      if (sorted(map) === sorted(current)) {
        state.results = { nodes: { text: "Nothing to apply: the per-node shares are as they are now.", kind: "muted" } };
        return replace(form.querySelector(".result"), state.results.nodes.text);
      }
      const body = { node_percentages: map, ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) };
      const shown = Object.entries(map).map(([n, p]) => `${n} ${p} %`).join(", ") || "none";
      const failure = await write("nodes", () => api("/flags", { method: "PUT", body }), `Per-node shares now: ${shown}`);
      if (!failure) return;
      const byParam = Object.fromEntries(Object.entries(inputs).map(([n, c]) => [`node_percentages.${n}`, c]));
      const control = controlFor(failure.param, byParam);
      if (!control) return notifyError(failure, "Changing the per-node shares failed");
      showError(error, failure, byParam);
      control.focus();
    });
    return card("Per-node shares", form);
  }

  function armForm() {
    const key = h("input", { type: "text", name: "key", required: true, autocomplete: "off", spellcheck: "false" });
    const node = select(state.nodes, { includeBlank: "none (the global share)" });
    const out = h("p", { class: "result", role: "status" });
    const form = h(
      "form",
      { class: "form-row", novalidate: true, "aria-label": "Which arm a key takes" },
      field("Key (user, session or trace id)", key),
      field("Node", node),
      h("button", { type: "submit", class: "button" }, "Check arm"),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!key.value.trim()) {
        key.setAttribute("aria-invalid", "true");
        key.focus();
        return replace(out, "Enter a key to check.");
      }
      key.removeAttribute("aria-invalid");
      try {
        const arm = await api("/flags/arm", { query: { key: key.value.trim(), node: node.value } });
        replace(out, h("strong", {}, arm.arm), ` — bucket ${arm.bucket} of 0–9999, ${arm.percentage} % on v2 applies${arm.node ? ` to ${arm.node}` : ""}.`);
      } catch (error) {
        replace(out, "");
        notifyError(error, "Checking the arm failed");
      }
    });
    return card("Which arm a key takes", h("p", { class: "subtle" }, "Sticky: a key keeps its arm while the share does not move past its bucket."), form, out);
  }

  function rollbackCard() {
    const reason = h("input", { type: "text", name: "reason", maxlength: 500 });
    const button = h("button", { type: "button", class: "button danger" }, "Emergency rollback…");
    button.addEventListener("click", async () => {
      const confirmed = await confirmDialog(
        "Roll back to v1 everywhere?",
        "Every replica stops sending legacy traffic to v2 at once: v2 off and 0 %, no per-node shares, no shadow traffic, no OpenRouter fallback, and the flags are pinned so the rollback guard leaves them alone. Durable and audited.",
        { confirm: "Roll back now", danger: true },
      );
      if (!confirmed) {
        state.results = { rollback: { text: "Cancelled: nothing was changed.", kind: "muted" } };
        drawFlags();
        return formsBox.querySelector(".danger-zone .button.danger").focus();
      }
      const body = reason.value.trim() ? { reason: reason.value.trim() } : {};
      const failure = await write("rollback", () => api("/flags/rollback", { method: "POST", body }), "Rolled back: v2 off on every replica, flags pinned");
      if (failure) notifyError(failure, "The emergency rollback failed");
    });
    const zone = card(
      "Emergency rollback",
      h("p", {}, "The migration guide's rollback without a restart. Unpin afterwards (above, or the Pinned box) once v2 may take traffic again."),
      h("div", { class: "form-row" }, field("Reason (kept in the audit log)", reason), button),
      resultLine("rollback"),
    );
    zone.classList.add("danger-zone");
    return zone;
  }

  function pinned() {
    if (!state.flags.pinned) return null;
    const unpin = h("button", { type: "button", class: "button primary" }, "Unpin the flags");
    unpin.addEventListener("click", async () => {
      const failure = await write("switch", () => api("/flags", { method: "PUT", body: { pinned: false, reason: "unpinned from the dashboard" } }), "Unpinned: the rollback guard watches again");
      if (failure) notifyError(failure, "Unpinning failed");
    });
    return h(
      "section",
      { class: "card pinned-banner", "aria-label": "Pinned" },
      h("h2", {}, "The flags are pinned"),
      h("p", {}, "A person pinned the flags (the emergency rollback does): the rollback guard does not move them. To unpin, press the button (PUT /flags {\"pinned\": false}); then set the share you want."),
      unpin,
    );
  }

  function drawFlags() {
    replace(statusBox, status(state.flags));
    replace(pinBox, pinned());
    replace(formsBox, switchForm(), nodesForm(), armForm(), rollbackCard());
  }

  function drawEvidence() {
    replace(evidenceBox, guardCard(state.flags.guard), shadowCard(state.shadow));
  }

  drawFlags();
  drawEvidence();
  ctx.every(REFRESH_MS, async () => {
    const [fresh, freshShadow] = await Promise.all([api("/flags", { signal: ctx.signal }), api("/shadow", { query: SHADOW_QUERY, signal: ctx.signal })]);
    const moved = fresh.updated_at !== state.flags.updated_at;
    state.shadow = freshShadow;
    if (moved && state.dirty) {
      if (state.warned !== fresh.updated_at) notify(`The flags were changed by ${fresh.updated_by || "someone"} while you were editing: applying sends only the fields you changed.`, "error");
      state.warned = fresh.updated_at;
      state.flags = { ...state.flags, guard: fresh.guard };
      replace(statusBox, status(fresh));
    } else {
      state.flags = fresh;
      if (moved) drawFlags();
      else replace(statusBox, status(fresh));
    }
    drawEvidence();
  });
}
