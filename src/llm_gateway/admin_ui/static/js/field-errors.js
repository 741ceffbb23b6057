// Inline errors for forms: the gateway's own message under the form, and the field it names
// (error.param: "model_id", "updates.writer", "capabilities[0]") marked invalid, so a person and a
// screen reader both learn what to fix.
import { h, nextId } from "./dom.js";

// A message slot for a form: announced when it changes (role=alert), empty until an error.
export function errorSlot() {
  return h("p", { class: "field-error", role: "alert", id: nextId("error") });
}

// The control an API error names: an exact key of `controls`, else the key the param starts
// with ("capabilities[0]" → "capabilities", "updates.writer.x" → "updates.writer").
export function controlFor(param, controls) {
  if (!param) return null;
  if (controls[param]) return controls[param];
  const keys = Object.keys(controls).sort((a, b) => b.length - a.length);
  const key = keys.find((k) => param.startsWith(k + ".") || param.startsWith(k + "["));
  return key ? controls[key] : null;
}

export function markInvalid(control, slot) {
  if (!control) return;
  control.setAttribute("aria-invalid", "true");
  const described = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  if (slot && !described.includes(slot.id)) described.push(slot.id);
  control.setAttribute("aria-describedby", described.join(" "));
}

export function clearErrors(form, slot) {
  for (const control of form.querySelectorAll("[aria-invalid]")) {
    control.removeAttribute("aria-invalid");
    const described = (control.getAttribute("aria-describedby") || "").split(" ").filter((id) => id !== (slot && slot.id));
    if (described.length) control.setAttribute("aria-describedby", described.join(" "));
    else control.removeAttribute("aria-describedby");
  }
  if (slot) slot.textContent = "";
}

// Show an ApiError (or any error) in the slot and mark the field it names; returns the control.
export function showError(slot, error, controls = {}) {
  slot.textContent = error && typeof error.describe === "function" ? error.describe() : String(error && error.message ? error.message : error);
  const control = controlFor(error && error.param, controls);
  markInvalid(control, slot);
  return control;
}
