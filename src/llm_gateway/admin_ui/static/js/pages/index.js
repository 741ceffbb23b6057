// The dashboard's pages, in navigation order: each is ./<name>.js exporting render(root, ctx).
export const PAGES = [
  { name: "overview", title: "Overview" },
  { name: "nodes", title: "Nodes" },
  { name: "models", title: "Models" },
  { name: "traces", title: "Traces" },
  { name: "costs", title: "Costs" },
  { name: "rollout", title: "Rollout" },
  { name: "alerts", title: "Alerts" },
  { name: "audit", title: "Audit log" },
  { name: "config", title: "Config" },
];
