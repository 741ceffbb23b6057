// A request's attempts on a timeline: one row per attempt, a bar from its start to its end on a
// shared scale (0 .. the request's duration). Bars are placed through CSSOM (the CSP allows no
// style attribute); each row also says in words what the bar shows.
import { h } from "./dom.js";
import * as fmt from "./format.js";

function outcome(attempt) {
  if (attempt.skipped) return "skipped";
  if (attempt.ok) return "ok";
  return [attempt.error_type, attempt.upstream_status].filter((x) => x !== undefined && x !== null).join(" ") || "failed";
}

function kind(attempt) {
  if (attempt.skipped) return "skipped";
  return attempt.ok ? "ok" : "failed";
}

function percent(value, total) {
  return `${Math.min(100, Math.max(0, (value / total) * 100)).toFixed(3)}%`;
}

// attempts: the trace's attempts (start_ms, duration_ms, ok, ...); totalMs: the request's duration.
export function timeline(attempts, totalMs) {
  const ends = attempts.map((a) => Number(a.start_ms || 0) + Number(a.duration_ms || 0));
  const total = Math.max(Number(totalMs) || 0, ...ends, 0.001);
  const rows = attempts.map((attempt, index) => {
    const start = Number(attempt.start_ms || 0);
    const duration = Number(attempt.duration_ms || 0);
    const bar = h("span", { class: ["timeline-bar", kind(attempt)] });
    bar.style.left = percent(start, total);
    // at least a sliver, so an instant attempt (a skip) is still seen
    bar.style.width = `max(3px, ${percent(duration, total)})`;
    const retry = attempt.retry_index ? ` · retry ${attempt.retry_index}` : "";
    const words = `${fmt.ms(start)} → ${fmt.ms(start + duration)} · ${fmt.ms(duration)} · ${outcome(attempt)}`;
    return h(
      "li",
      { class: "timeline-row" },
      h("span", { class: "timeline-label" }, h("strong", {}, `${index + 1}. ${attempt.model}`), h("span", { class: "subtle" }, `${attempt.provider || ""}${retry}`)),
      h("span", { class: "timeline-track", "aria-hidden": "true" }, bar),
      h("span", { class: "timeline-words" }, words),
    );
  });
  return h(
    "figure",
    { class: "timeline" },
    h("ol", { class: "timeline-rows", "aria-label": "Attempts in order, with start, end and duration" }, rows),
    h(
      "figcaption",
      { class: "timeline-row timeline-scale subtle" },
      h("span", {}, "Scale"),
      h("span", { class: "timeline-axis" }, h("span", {}, "0 ms"), h("span", {}, `${fmt.ms(total)} (the request)`)),
      h("span", {}),
    ),
  );
}
