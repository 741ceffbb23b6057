// Before → after of an admin change (the audit log's entries): the fields that changed, in
// words, and the whole of both sides on request.
import { h } from "./dom.js";

const SHORT = 140;

function isRecord(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function compact(value) {
  if (value === undefined) return "—";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > SHORT ? text.slice(0, SHORT - 1) + "…" : text;
}

// [{key, before, after}] for the keys whose values differ; one row with key null when the
// sides are not both objects.
export function differences(before, after) {
  if (!isRecord(before) || !isRecord(after)) {
    return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ key: null, before, after }];
  }
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return keys
    .filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]))
    .map((key) => ({ key, before: before[key], after: after[key] }));
}

function side(value) {
  return value === null || value === undefined ? h("span", { class: "subtle" }, "none") : h("code", {}, compact(value));
}

// The change as a short list, with the full before and after in a disclosure.
export function changeView(before, after) {
  const rows = differences(before, after);
  const list = rows.length
    ? h(
        "ul",
        { class: "change-list" },
        rows.map((r) => h("li", {}, r.key ? h("span", { class: "mono" }, `${r.key}: `) : null, side(r.before), " → ", side(r.after))),
      )
    : h("span", { class: "subtle" }, "no field changed");
  const full = h(
    "details",
    { class: "change-full" },
    h("summary", {}, "Before and after"),
    h("div", { class: "change-sides" }, h("div", {}, h("h3", {}, "Before"), h("pre", { class: "code" }, JSON.stringify(before ?? null, null, 2))), h("div", {}, h("h3", {}, "After"), h("pre", { class: "code" }, JSON.stringify(after ?? null, null, 2)))),
  );
  return h("div", { class: "change" }, list, full);
}
