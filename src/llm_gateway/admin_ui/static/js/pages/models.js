// Models: the catalogue with capabilities, tier, context, prices and health; disable and enable a
// model. #/models/<id> is one model's detail view. Live.
import { api } from "../api.js";
import { field, h, replace } from "../dom.js";
import * as fmt from "../format.js";
import { renderModelDetail } from "../model-detail.js";
import { circuitState, modelState, nodesServedBy, switchModel } from "../model-switch.js";
import { capabilityBadges } from "../node-views.js";
import { card, notifyError, pageHeader, table } from "../ui.js";

const REFRESH_MS = 10000;

async function load(signal) {
  const [catalogue, health, policies] = await Promise.all([
    api("/models", { signal }),
    api("/health", { signal }),
    api("/policies", { signal }),
  ]);
  return { models: catalogue.models || [], health: health.models || {}, policies };
}

function matches(model, text) {
  if (!text) return true;
  const haystack = [model.model_id, model.provider, model.provider_model_id, model.cost_tier, ...(model.capabilities || [])]
    .join(" ")
    .toLowerCase();
  return text
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => haystack.includes(word));
}

function observedCell(model, pick) {
  return model.observed ? pick(model.observed) : h("span", { class: "subtle" }, "not yet");
}

function modelsTable(data, filter, onSwitch) {
  const rows = data.models.filter((m) => matches(m, filter));
  return table(
    [
      {
        label: "Model",
        value: (m) =>
          h("div", {}, h("a", { href: `#/models/${encodeURIComponent(m.model_id)}`, class: "mono" }, m.model_id), h("div", { class: "subtle" }, `${m.provider} · ${m.provider_model_id}`)),
      },
      {
        label: "Status",
        value: (m) => h("div", { class: "status-stack" }, modelState(m, data.health[m.model_id]), circuitState(data.health[m.model_id])),
      },
      { label: "Tier", value: (m) => m.cost_tier },
      { label: "Context", num: true, value: (m) => fmt.count(m.context_window) },
      { label: "Capabilities", value: (m) => capabilityBadges(m.capabilities) },
      {
        label: "Price / 1k tokens",
        num: true,
        value: (m) => h("div", {}, h("div", {}, `in ${fmt.usd(m.input_cost_per_1k)}`), h("div", {}, `out ${fmt.usd(m.output_cost_per_1k)}`)),
      },
      { label: "Error rate", num: true, value: (m) => observedCell(m, (o) => fmt.pct(o.error_rate)) },
      {
        label: "Latency",
        num: true,
        value: (m) => observedCell(m, (o) => h("div", {}, h("div", {}, fmt.ms(o.latency_ms)), h("div", { class: "subtle" }, `${fmt.count(o.samples)} samples`))),
      },
      { label: "Serves now", value: (m) => nodesServedBy(data.policies, m.model_id).join(", ") || h("span", { class: "subtle" }, "no node") },
      {
        label: "Action",
        value: (m) => {
          const enabled = !m.disabled_by_admin;
          return h(
            "button",
            {
              type: "button",
              class: ["button", "small", enabled ? "danger-outline" : null],
              "aria-label": `${enabled ? "Disable" : "Enable"} ${m.model_id}`,
              onclick: () => onSwitch(m, !enabled),
            },
            enabled ? "Disable" : "Enable",
          );
        },
      },
    ],
    rows,
    {
      empty: data.models.length
        ? "No model matches the filter: clear it or search for another id, provider, tier or capability."
        : "No models are configured: add them to config/model_policies.yaml and reload (Config page).",
      rowAttrs: (m) => ({ "data-model": m.model_id }),
    },
  );
}

async function renderList(root, ctx) {
  let data = await load(ctx.signal);
  const filter = h("input", { type: "search", autocomplete: "off", spellcheck: "false", value: ctx.params.get("q") || "" });
  const reason = h("input", { maxlength: 500, autocomplete: "off" });
  const holder = h("div", {});
  const count = h("span", {});
  const lastChange = h("p", { class: "result", role: "status" });
  const show = () => {
    const shown = data.models.filter((m) => matches(m, filter.value.trim())).length;
    count.textContent = `${shown} of ${data.models.length} models`;
    replace(holder, h("div", { class: "models-table" }, modelsTable(data, filter.value.trim(), onSwitch)));
  };
  async function onSwitch(model, enabled) {
    try {
      const answer = await switchModel(model.model_id, enabled, {
        reason: reason.value.trim(),
        serving: nodesServedBy(data.policies, model.model_id),
      });
      if (!answer) return;
      lastChange.textContent = `Last change: ${answer.text}`;
      data = await load(ctx.signal);
      show();
      const button = holder.querySelector(`[data-model="${CSS.escape(model.model_id)}"] button`);
      if (button) button.focus();
    } catch (error) {
      if (error.name !== "AbortError") notifyError(error, `${enabled ? "Enabling" : "Disabling"} ${model.model_id} failed`);
    }
  }
  filter.addEventListener("input", show);
  root.append(
    pageHeader("Models", count, ` · refreshes every ${REFRESH_MS / 1000} s`),
    card(
      "Catalogue",
      h(
        "div",
        { class: "form-row" },
        field("Filter models", filter, "id, provider, tier or capability"),
        field("Reason for a change", reason, "kept in the audit log"),
      ),
      lastChange,
      holder,
      h("p", { class: "subtle" }, "Error rate and latency are the smoothed figures selection scores on; the detail view has the ledger's p50 / p95."),
    ),
  );
  show();
  ctx.every(REFRESH_MS, async () => {
    if (holder.contains(document.activeElement) || document.querySelector("dialog[open]")) return;
    data = await load(ctx.signal);
    show();
  });
}

export async function render(root, ctx) {
  if (ctx.segments.length) return renderModelDetail(root, ctx, ctx.segments[0]);
  return renderList(root, ctx);
}
