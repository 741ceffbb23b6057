// Alerts: the rules of alerts.yaml with their state, last firing and last evaluation; each
// action configured or what it misses, and its deliveries; the incident history; and a test
// notification per rule (POST /alerts/{name}/test) showing each action's outcome. Live.
import { api } from "../api.js";
import { h, replace } from "../dom.js";
import * as fmt from "../format.js";
import { badge, card, emptyState, notify, notifyError, pageHeader, table } from "../ui.js";

const REFRESH_MS = 15_000;
const HISTORY = 50;
const BUILT_IN = { auto_disable_model: "built in: takes the incident's model out of selection" };

function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.filter(Boolean).map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
  );
}

function number(value) {
  if (value === null || value === undefined) return "—";
  const n = Number(value);
  return Number.isInteger(n) ? String(n) : Number(n.toPrecision(4)).toString();
}

function every(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  return seconds < 10 ? `${Number(Number(seconds).toPrecision(2))} s` : fmt.duration(seconds);
}

function evaluatorCard(state) {
  return card(
    "Evaluator",
    facts([
      ["Rules file", h("span", { class: "mono" }, state.file || "none")],
      ["Version", h("span", { class: "mono" }, state.version || "—")],
      state.error ? ["Last load", h("span", { class: "field-error" }, `refused: ${state.error}`)] : null,
      ["Evaluated every", every(state.interval_s)],
      ["Evaluating replica", state.evaluator ? h("span", { class: "mono" }, state.evaluator, state.this_replica_evaluates ? " (this one)" : "") : "none holds the lease now"],
      ["Last evaluation", state.last_evaluated_at ? `${fmt.time(state.last_evaluated_at)} (${fmt.ago(state.last_evaluated_at)})` : "not on this replica"],
      ["Incidents kept", state.record_store ? "in the record store (every replica's)" : "no record store: no history"],
    ]),
  );
}

function actionBadges(rule, actions) {
  return h(
    "ul",
    { class: "alert-actions" },
    rule.actions.map((name) => {
      if (BUILT_IN[name]) return h("li", { title: BUILT_IN[name] }, h("span", { class: "mono" }, name), " ", badge("built in", "info"));
      const action = actions[name] || {};
      return h(
        "li",
        {},
        h("span", { class: "mono" }, name),
        " ",
        action.configured ? badge("configured", "ok") : badge("not configured", "warn"),
        action.missing ? h("span", { class: "subtle" }, ` ${action.missing}`) : null,
      );
    }),
  );
}

function ruleState(rule) {
  const kind = rule.state === "firing" ? "bad" : rule.state === "ok" ? "ok" : "warn";
  const firing = (rule.firing || []).map((i) => h("div", { class: "subtle" }, `${i.scope}: ${i.summary} since ${fmt.ago(i.started_at)}`));
  return h("div", {}, badge(rule.state, kind), firing);
}

function lastFiring(rule) {
  const last = rule.last_firing;
  if (!last) return "never";
  return h("div", {}, `${fmt.ago(last.started_at)} · ${last.summary}`, h("div", { class: "subtle" }, last.state === "resolved" ? `resolved ${fmt.ago(last.resolved_at)}` : "still firing"));
}

function lastEvaluation(rule) {
  const seen = rule.last_evaluation;
  if (!seen) return "not on this replica yet";
  const scopes = Object.entries(seen.scopes || {});
  const shown = scopes.slice(0, 3).map(([scope, s]) => h("div", { class: "subtle" }, `${scope}: ${number(s.value)} over ${fmt.count(s.samples)} samples${s.breach ? " — breach" : ""}`));
  const more = scopes.length > 3 ? h("div", { class: "subtle" }, `and ${scopes.length - 3} more scopes`) : null;
  return h("div", {}, fmt.ago(seen.at), seen.note ? h("div", { class: "subtle" }, seen.note) : null, scopes.length ? shown : h("div", { class: "subtle" }, "no traffic in the window"), more);
}

function measured(rule) {
  const parts = [rule.scope, `${fmt.duration(rule.window_s)} window`];
  if (rule.for_s) parts.push(`for ${fmt.duration(rule.for_s)}`);
  if (rule.repeat_after_s) parts.push(`repeat every ${fmt.duration(rule.repeat_after_s)}`);
  if (rule.min_requests > 1) parts.push(`at least ${rule.min_requests} requests`);
  return parts.join(" · ");
}

function outcomeBadge(text) {
  if (text === "sent") return badge("sent", "ok");
  if (text.startsWith("skipped")) return badge("skipped", "muted");
  return badge(text.startsWith("not configured") ? "not configured" : "failed", "bad");
}

function testResult(result) {
  if (!result) return null;
  const rows = Object.entries(result.results || {}).map(([action, outcome]) => ({ action, outcome }));
  return h(
    "div",
    { class: "alert-test-result" },
    h("h3", {}, `Test notification for ${result.rule}: `, result.delivered ? badge("delivered", "ok") : badge("not delivered", "bad")),
    table(
      [
        { label: "Action", value: (r) => h("span", { class: "mono" }, r.action) },
        { label: "Outcome", value: (r) => outcomeBadge(r.outcome) },
        { label: "Detail", value: (r) => (r.outcome === "sent" ? "delivered to the action's target" : r.outcome) },
      ],
      rows,
      { empty: "The rule has no actions." },
    ),
  );
}

function actionsCard(state) {
  const deliveries = state.deliveries || {};
  const rows = Object.entries(state.actions || {}).map(([name, a]) => ({ name, ...a, stats: deliveries[name] || {} }));
  return card(
    "Actions",
    table(
      [
        { label: "Action", value: (r) => h("span", { class: "mono" }, r.name) },
        { label: "Configured", value: (r) => (r.configured ? badge("yes", "ok") : badge("no", "warn")) },
        { label: "Missing", prose: true, value: (r) => r.missing || "" },
        { label: "Sent", num: true, value: (r) => fmt.count(r.stats.sent || 0) },
        { label: "Failed", num: true, value: (r) => fmt.count(r.stats.failed || 0) },
        { label: "Retries", num: true, value: (r) => fmt.count(r.stats.retries || 0) },
        { label: "Last error", prose: true, value: (r) => r.stats.last_error || "" },
      ],
      rows,
      { empty: "No actions are known to this replica." },
    ),
    h("p", { class: "subtle" }, "Targets come from the environment (PAGERDUTY_ROUTING_KEY, SLACK_WEBHOOK_URL, GATEWAY_SMTP_HOST, GATEWAY_ALERTS_WEBHOOK_URL…): see docs/alerts.md."),
  );
}

function historyCard(history) {
  return card(
    "Incident history",
    table(
      [
        { label: "Rule", value: (r) => h("span", { class: "mono" }, r.rule) },
        { label: "Scope", value: (r) => r.scope },
        { label: "State", value: (r) => badge(r.state) },
        { label: "Summary", value: (r) => r.summary },
        { label: "Started", value: (r) => fmt.time(r.started_at) },
        { label: "Resolved", value: (r) => (r.resolved_at ? fmt.time(r.resolved_at) : "—") },
        { label: "Notifications", num: true, value: (r) => fmt.count(r.notifications) },
      ],
      history || [],
      { caption: `The last ${HISTORY} incidents, newest first`, empty: "No incident yet. Incidents open here when a rule's condition holds, and close when it stops." },
    ),
  );
}

export async function render(root, ctx) {
  const state = { alerts: await api("/alerts", { query: { history: HISTORY } }), test: null };
  const rulesBox = h("div");
  const restBox = h("div");
  root.append(pageHeader("Alerts", `refreshes every ${REFRESH_MS / 1000} s`), rulesBox, restBox);

  async function sendTest(name, button) {
    button.disabled = true;
    try {
      state.test = await api(`/alerts/${encodeURIComponent(name)}/test`, { method: "POST" });
      notify(`Test notification for ${name}: ${state.test.delivered ? "delivered" : "not delivered by every action"}.`, state.test.delivered ? "success" : "error");
    } catch (error) {
      notifyError(error, `Sending a test notification for ${name} failed`);
    } finally {
      button.disabled = false;
    }
    drawRules();
    const again = rulesBox.querySelector(`[data-rule="${CSS.escape(name)}"]`);
    if (again) again.focus();
  }

  function testButton(rule) {
    const button = h("button", { type: "button", class: "button small", "data-rule": rule.name, "aria-label": `Send test notification for ${rule.name}` }, "Send test");
    button.addEventListener("click", () => sendTest(rule.name, button));
    return button;
  }

  function drawRules() {
    const a = state.alerts;
    const rules = a.rules || [];
    const empty = a.file
      ? "The rules file has no rule in force. Fix it (the error above says what is wrong) and reload on the Config page."
      : "No alert rules are loaded. Put alerts.yaml beside model_policies.yaml (or set GATEWAY_ALERTS_FILE) and restart, or reload on the Config page.";
    replace(
      rulesBox,
      a.error && !a.file ? h("p", { class: "field-error" }, a.error) : null,
      card(
        "Rules",
        table(
          [
            { label: "Rule", value: (r) => h("div", {}, h("strong", { class: "mono" }, r.name), h("div", { class: "subtle" }, r.severity)) },
            { label: "Condition", value: (r) => h("div", {}, h("code", {}, r.condition), h("div", { class: "subtle" }, measured(r))) },
            { label: "State", value: ruleState },
            { label: "Last firing", value: lastFiring },
            { label: "Last evaluation", value: lastEvaluation },
            { label: "Actions", value: (r) => actionBadges(r, a.actions || {}) },
            { label: "Test", value: testButton },
          ],
          rules,
          { empty },
        ),
        h("div", { role: "status", "aria-live": "polite" }, testResult(state.test)),
      ),
    );
  }

  function drawRest() {
    replace(restBox, evaluatorCard(state.alerts), actionsCard(state.alerts), historyCard(state.alerts.history));
  }

  drawRules();
  drawRest();
  ctx.every(REFRESH_MS, async () => {
    state.alerts = await api("/alerts", { query: { history: HISTORY }, signal: ctx.signal });
    // never pull a control out from under the keyboard
    if (!rulesBox.contains(document.activeElement)) drawRules();
    drawRest();
  });
}
