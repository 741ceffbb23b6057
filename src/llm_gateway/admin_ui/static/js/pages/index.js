// The dashboard's pages, in navigation order: each is ./<name>.js exporting render(root, ctx).
export const PAGES = [
  { name: "overview", title: "Overview" },
  { name: "nodes", title: "Nodes" },
  { name: "models", title: "Models" },
];
