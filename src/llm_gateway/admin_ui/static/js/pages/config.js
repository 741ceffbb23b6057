// Config: validate the files on disk (GET /validate) and reload them (POST /policies/reload):
// every issue by file and key path, the live state, and each replica's outcome of a reload.
// A refused reload keeps the previous configuration live; the page says which one.
import { api } from "../api.js";
import { h, replace } from "../dom.js";
import * as fmt from "../format.js";
import { badge, card, clearNotices, confirmDialog, emptyState, notify, notifyError, pageHeader, table } from "../ui.js";

function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.filter(Boolean).map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
  );
}

// {file, path, message} for each issue: the answer's `located`, else (a replica of an older
// version, a refusal that is not about one file) the text, split only where it names a file.
function locate(located, issues) {
  if (located && located.length) return located;
  return (issues || []).map((text) => {
    const [file, ...rest] = String(text).split(": ");
    if (!/\.ya?ml$/.test(file) || !rest.length) return { file: "", path: "", message: String(text) };
    return { file, path: rest.length > 1 ? rest.shift() : "", message: rest.join(": ") };
  });
}

function issuesTable(located, issues, caption) {
  return table(
    [
      { label: "File", value: (i) => h("span", { class: "mono" }, i.file || "—") },
      { label: "Key path or line", value: (i) => (i.path ? h("code", { class: "config-path" }, i.path) : h("span", { class: "subtle" }, i.file ? "the whole file" : "—")) },
      { label: "Problem", prose: true, value: (i) => i.message },
    ],
    locate(located, issues),
    { caption, empty: "No issue." },
  );
}

function liveState(live) {
  const nodes = Object.entries(live.unservable_nodes || {});
  const overrides = Object.entries(live.override_issues || {});
  return [
    facts([
      ["Live config version", h("span", { class: "mono" }, live.config_version)],
      ["Files on disk", live.files_version ? h("span", { class: "mono" }, live.files_version) : "not readable as a configuration (see the issues)"],
      ["Reload pending", live.reload_pending ? badge("yes: the files changed since they were loaded — reload to apply them", "warn") : "no"],
      ["Models / nodes live", `${fmt.count(live.models)} / ${fmt.count(live.nodes)}`],
    ]),
    nodes.length
      ? table(
          [
            { label: "Node", value: (r) => h("span", { class: "mono" }, r[0]) },
            { label: "Why no model can serve it now", value: (r) => String(r[1]) },
          ],
          nodes,
          { caption: "Nodes no model can serve now" },
        )
      : null,
    overrides.length
      ? table(
          [
            { label: "Node", value: (r) => h("span", { class: "mono" }, r[0]) },
            { label: "Why the override no longer applies", value: (r) => r[1].join("; ") },
          ],
          overrides,
          { caption: "Overrides that no longer apply (Nodes page to change them)" },
        )
      : null,
  ];
}

function validation(answer) {
  const files = answer.files || {};
  return [
    h("p", {}, "Files and live state: ", answer.valid ? badge("valid", "ok") : badge("issues found", "bad"), " ", h("span", { class: "subtle mono" }, answer.config_dir)),
    files.valid
      ? h("p", {}, badge("files ok", "ok"), " model_policies.yaml and node_requirements.yaml parse and cross-check.")
      : issuesTable(files.located, files.issues, "Issues in the files on disk (a reload would be refused)"),
    liveState(answer.live || {}),
  ];
}

function sideFile(name, result) {
  if (!result) return null;
  const text = result.status === "kept" ? `not reloaded, the previous rules stay: ${result.error}` : result.status;
  return [name, result.status === "kept" ? h("span", { class: "field-error" }, text) : text];
}

function replicasTable(replicas) {
  return table(
    [
      { label: "Replica", value: (r) => h("span", { class: "mono" }, r.replica) },
      { label: "Outcome", value: (r) => badge(r.status, r.status === "reloaded" ? "ok" : r.status === "kept" ? "bad" : "warn") },
      { label: "Config version", value: (r) => h("span", { class: "mono" }, r.config_version || "—") },
      {
        label: "Detail",
        value: (r) => {
          if (r.status === "no_answer") return "did not answer in time: check it on the Overview page";
          if (r.status !== "kept") return r.alerts && r.alerts.status === "kept" ? `alerts kept: ${r.alerts.error}` : "";
          const details = r.details || {};
          return h("div", {}, r.error, details.issues ? issuesTable(details.located, details.issues) : null);
        },
      },
    ],
    replicas || [],
    { caption: "Each replica's outcome", empty: "No replica reported." },
  );
}

function reloaded(answer) {
  const warnings = answer.warnings || [];
  return [
    h("p", {}, badge("reloaded", "ok"), ` config version ${answer.config_version_before} → ${answer.config_version} · ${answer.models} models, ${answer.nodes} nodes`),
    replicasTable(answer.replicas),
    facts([sideFile("alerts.yaml", answer.alerts), sideFile("rollout.yaml", answer.rollout)]),
    warnings.length ? h("div", {}, h("h3", {}, "Warnings"), h("ul", {}, warnings.map((w) => h("li", {}, w)))) : null,
  ];
}

function refused(error, live, forceButton) {
  const details = (error.body && error.body.error && error.body.error.details) || {};
  return [
    h("p", {}, badge("not reloaded", "bad"), " ", error.message),
    h("p", { class: "config-kept" }, "The previous configuration stays live", live ? `: version ${live.config_version} (${fmt.count(live.models)} models, ${fmt.count(live.nodes)} nodes)` : "", ". Fix the files, validate, and reload again."),
    details.issues ? issuesTable(details.located, details.issues, "Why the reload was refused") : null,
    forceButton,
  ];
}

export async function render(root, ctx) {
  const validateButton = h("button", { type: "button", class: "button" }, "Validate");
  const reloadButton = h("button", { type: "button", class: "button primary" }, "Reload");
  const validateBox = h("div", { class: "config-result", role: "status", "aria-live": "polite" });
  const reloadBox = h("div", { class: "config-result", role: "status", "aria-live": "polite" });
  let live = null;
  root.append(
    pageHeader("Config"),
    card(
      "Validate and reload",
      h("p", {}, "Validate reads model_policies.yaml and node_requirements.yaml from the config directory and checks them without applying them. Reload applies them on every replica — if anything is wrong nothing changes and the last good configuration stays live. alerts.yaml and rollout.yaml are read again by a reload too."),
      h("div", { class: "form-row" }, validateButton, reloadButton),
    ),
    card("Validation", validateBox),
    card("Last reload", reloadBox),
  );
  replace(reloadBox, emptyState("Not reloaded from this page yet. Edit the files, validate, then reload."));

  async function validate() {
    const answer = await api("/validate", { signal: ctx.signal });
    live = answer.live;
    replace(validateBox, validation(answer));
    return answer;
  }

  async function busy(button, work) {
    validateButton.disabled = reloadButton.disabled = true;
    try {
      await work();
    } finally {
      validateButton.disabled = reloadButton.disabled = false;
      button.focus();
    }
  }

  async function reload(force) {
    try {
      const answer = await api("/policies/reload", { method: "POST", query: force ? { force: "true" } : undefined });
      replace(reloadBox, reloaded(answer));
      const count = (answer.replicas || []).length;
      clearNotices(); // the refusals shown before are settled by this reload
      notify(`Configuration reloaded (version ${answer.config_version}) on ${count} replica${count === 1 ? "" : "s"}.`, "success");
    } catch (error) {
      if (error.status !== 422) {
        notifyError(error, "Reloading failed");
        replace(reloadBox, h("p", { class: "field-error" }, `Reloading failed: ${error.describe()}`));
        return;
      }
      notifyError(error, "Configuration not reloaded");
      let forceButton = null;
      if (error.body && error.body.error && error.body.error.code === "reload_would_remove") {
        forceButton = h("button", { type: "button", class: "button danger" }, "Reload anyway…");
        forceButton.addEventListener("click", async () => {
          const ok = await confirmDialog("Reload a configuration that removes things?", `${error.message} Requests for what it removes will fail.`, { confirm: "Reload anyway", danger: true });
          if (ok) await busy(reloadButton, () => reload(true));
        });
      }
      // the live state after the refusal; when that cannot be read either, say so (the
      // version shown is then the one read before the reload)
      await validate().catch((failure) => notifyError(failure, "Reading the live state after the refusal failed"));
      replace(reloadBox, refused(error, live, forceButton));
      return;
    }
    await validate().catch((error) => notifyError(error, "Validating after the reload failed"));
  }

  validateButton.addEventListener("click", () => busy(validateButton, () => validate().catch((error) => notifyError(error, "Validating failed"))));
  reloadButton.addEventListener("click", () => busy(reloadButton, () => reload(false)));
  await validate();
}
