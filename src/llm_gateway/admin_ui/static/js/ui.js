// Shared components: tables, cards, stats, badges, empty states, notices and confirmations.
import { append, h } from "./dom.js";

// columns: [{label, value: row => node|string, num: bool, prose: bool}]; a prose column (an
// error message) keeps a readable width when the table is squeezed, and the table scrolls instead.
export function table(columns, rows, { empty = "Nothing to show.", caption, rowAttrs } = {}) {
  if (!rows || rows.length === 0) return emptyState(empty);
  const kind = (c) => [c.num ? "num" : null, c.prose ? "prose" : null];
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", class: kind(c) }, c.label)));
  const body = rows.map((row) =>
    h(
      "tr",
      rowAttrs ? rowAttrs(row) : {},
      columns.map((c) => h("td", { class: kind(c) }, c.value(row))),
    ),
  );
  return h(
    "div",
    { class: "table-wrap" },
    h("table", {}, caption ? h("caption", { class: "subtle" }, caption) : null, h("thead", {}, head), h("tbody", {}, body)),
  );
}

export function card(title, ...children) {
  return h("section", { class: "card", "aria-label": typeof title === "string" ? title : null }, title ? h("h2", {}, title) : null, children);
}

export function stat(label, value, note) {
  return h(
    "div",
    { class: "stat" },
    h("div", { class: "stat-label" }, label),
    h("div", { class: "stat-value" }, value),
    note ? h("div", { class: "stat-note" }, note) : null,
  );
}

const KINDS = {
  healthy: "ok", ok: "ok", closed: "ok", enabled: "ok", resolved: "ok", applied: "ok", true: "ok",
  degraded: "warn", "half-open": "warn", half_open: "warn", warning: "warn", pending: "warn", stepping: "warn",
  unhealthy: "bad", open: "bad", error: "bad", failed: "bad", disabled: "bad", firing: "bad", down: "bad",
};

export function badge(text, kind) {
  const label = text === null || text === undefined ? "—" : String(text);
  return h("span", { class: ["badge", kind || KINDS[label.toLowerCase()] || "muted"] }, label);
}

// An empty state says what to do, not just that there is nothing.
export function emptyState(message, ...more) {
  return h("div", { class: "empty" }, h("p", {}, message), more);
}

export function pageHeader(title, ...aside) {
  return h("div", { class: "page-header" }, h("h1", {}, title), aside.length ? h("div", { class: "subtle" }, aside) : null);
}

// Notices: API errors and confirmations at the top of the page, until dismissed.
export function notify(message, kind = "error") {
  const notices = document.getElementById("notices");
  const text = h("span", { class: "notice-text" }, message);
  const notice = h("div", { class: ["notice", kind], role: kind === "error" ? "alert" : "status" }, text);
  const close = h("button", { type: "button", class: "button small", "aria-label": "Dismiss" }, "Dismiss");
  close.addEventListener("click", () => notice.remove());
  append(notice, [close]);
  notices.append(notice);
  if (kind !== "error") setTimeout(() => notice.remove(), 8000);
  return notice;
}

export function notifyError(error, what) {
  const detail = error && typeof error.describe === "function" ? error.describe() : String(error && error.message ? error.message : error);
  return notify(what ? `${what}: ${detail}` : detail, "error");
}

export function clearNotices() {
  const notices = document.getElementById("notices");
  while (notices.firstChild) notices.firstChild.remove();
}

// A modal confirmation; resolves true when confirmed. Escape, Cancel and leaving the page (the
// Back key, a link typed in the address) resolve false: a question about a page no longer shown
// is not answered.
export function confirmDialog(title, message, { confirm = "Confirm", danger = false } = {}) {
  return new Promise((resolve) => {
    const ok = h("button", { type: "button", class: ["button", danger ? "danger" : "primary"] }, confirm);
    const cancel = h("button", { type: "button", class: "button" }, "Cancel");
    const titleId = `dialog-title-${Date.now()}`;
    const dialog = h(
      "dialog",
      { "aria-labelledby": titleId },
      h("h2", { id: titleId }, title),
      h("p", {}, message),
      h("div", { class: "dialog-actions" }, cancel, ok),
    );
    const leave = () => done(false);
    const done = (value) => {
      window.removeEventListener("hashchange", leave);
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    window.addEventListener("hashchange", leave);
    ok.addEventListener("click", () => done(true));
    cancel.addEventListener("click", () => done(false));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

// "applied by 3 of 3 replicas" from an admin write's answer, when it says so.
export function appliedText(answer) {
  if (!answer || answer.applied_by === undefined) return "";
  return ` — applied by ${answer.applied_by} of ${answer.replicas} replica${answer.replicas === 1 ? "" : "s"}`;
}
