// Switching a catalogue model off and on (PUT /models/{id}), and how a model's state reads.
// Disabling asks first; the answer says how many replicas applied it.
import { api } from "./api.js";
import { appliedLine } from "./node-views.js";
import { badge, confirmDialog, notify } from "./ui.js";

// Why a model is or is not in service: an admin's switch, an alert's auto-disable, the file.
export function modelState(model, health) {
  if (model.disabled_by_admin) return badge("disabled", "bad");
  if (health && health.auto_disabled_by_alert) return badge("auto-disabled", "bad");
  if (!model.enabled_in_files) return badge("off in files", "muted");
  return badge("enabled", "ok");
}

const CIRCUIT_KINDS = { closed: "ok", half_open: "warn", "half-open": "warn", open: "bad" };

// The circuit breaker's state: closed (in service), half-open (probing), open (skipped).
export function circuitState(health) {
  if (!health) return badge("circuit unknown", "muted");
  return badge(`circuit ${health.circuit}`, CIRCUIT_KINDS[health.circuit] || "muted");
}

// The nodes that get `id` now, from GET /policies.
export function nodesServedBy(policies, id) {
  return Object.entries((policies && policies.nodes) || {})
    .filter(([, entry]) => entry.model_id === id)
    .map(([node]) => node);
}

// Disable (after a confirmation) or enable `id`; resolves to the gateway's answer, or null when
// the person cancelled. Errors are thrown for the caller to show.
export async function switchModel(id, enabled, { reason, serving = [] } = {}) {
  if (!enabled) {
    const moves = serving.length
      ? ` It serves ${serving.join(", ")} now: those move to their next model.`
      : "";
    const confirmed = await confirmDialog(
      `Disable ${id}?`,
      `${id} will not be selected nor used as a fallback, on every replica, until it is enabled again.${moves}`,
      { confirm: "Disable", danger: true },
    );
    if (!confirmed) return null;
  }
  const answer = await api(`/models/${encodeURIComponent(id)}`, {
    method: "PUT",
    body: { enabled, reason: reason || undefined },
  });
  const done = enabled ? "enabled" : "disabled";
  const text = answer.changed ? `${id} ${done}${appliedLine(answer)}` : `${id} was already ${done}: nothing changed`;
  notify(text, "success");
  return { ...answer, text };
}
