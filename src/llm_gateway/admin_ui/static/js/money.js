// Amounts as the gateway gives them: its exact decimal strings, never through a float.
import { h } from "./dom.js";

export function usdExact(value) {
  if (value === null || value === undefined || value === "") return "—";
  return h("span", { class: "mono" }, `$${value}`);
}
