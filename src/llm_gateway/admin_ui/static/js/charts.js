// Small SVG charts (no library, nothing from elsewhere): a line chart over time and a bar list.
// Each chart has a text alternative (role=img with aria-label) and a legend.
import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
export const PALETTE = ["#1f4e8c", "#c4531a", "#2f7d32", "#7b3fa0", "#a11a1a", "#00757f", "#6b5b00", "#4a5260"];

function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, String(value));
  for (const child of children) if (child) element.append(child);
  return element;
}

function text(x, y, value, attrs = {}) {
  const element = svg("text", { x, y, ...attrs });
  element.textContent = value;
  return element;
}

// series: [{name, points: [[Date|ms, number], ...]}]; stacked: false. yFormat formats ticks.
export function lineChart(series, { label = "chart", height = 220, yFormat = String, xFormat } = {}) {
  const width = 720;
  const pad = { left: 64, right: 12, top: 10, bottom: 28 };
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return null;
  const xs = all.map(([x]) => +new Date(x));
  const ys = all.map(([, y]) => Number(y));
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs) === xMin ? xMin + 1 : Math.max(...xs);
  const yMax = Math.max(...ys) > 0 ? Math.max(...ys) * 1.1 : 1;
  const sx = (x) => pad.left + ((+new Date(x) - xMin) / (xMax - xMin)) * (width - pad.left - pad.right);
  const sy = (y) => height - pad.bottom - (Number(y) / yMax) * (height - pad.top - pad.bottom);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": label });
  const ticks = 4;
  for (let i = 0; i <= ticks; i += 1) {
    const value = (yMax * i) / ticks;
    chart.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: sy(value), y2: sy(value), class: "axis" }));
    chart.append(text(pad.left - 6, sy(value) + 4, yFormat(value), { "text-anchor": "end" }));
  }
  const fx = xFormat || ((x) => new Date(x).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }));
  chart.append(text(pad.left, height - 8, fx(xMin)));
  chart.append(text(width - pad.right, height - 8, fx(xMax), { "text-anchor": "end" }));
  series.forEach((s, index) => {
    const colour = PALETTE[index % PALETTE.length];
    const points = [...s.points].sort((a, b) => +new Date(a[0]) - +new Date(b[0]));
    const d = points.map(([x, y], i) => `${i ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
    const path = svg("path", { d, fill: "none", stroke: colour, "stroke-width": 2 });
    path.append(svg("title", {}, document.createTextNode(s.name)));
    chart.append(path);
    if (points.length === 1) chart.append(svg("circle", { cx: sx(points[0][0]), cy: sy(points[0][1]), r: 3, fill: colour }));
  });
  return h("figure", { class: "chart-figure" }, chart, legend(series.map((s) => s.name)));
}

// items: [{label, value}], value a number; format shows it.
export function barChart(items, { label = "chart", format = String } = {}) {
  if (!items.length) return null;
  const width = 720;
  const row = 24;
  const labelWidth = 180;
  const height = items.length * row + 8;
  const max = Math.max(...items.map((i) => Number(i.value)), 0) || 1;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": label });
  items.forEach((item, index) => {
    const y = index * row + 4;
    const w = ((width - labelWidth - 110) * Number(item.value)) / max;
    chart.append(text(labelWidth - 8, y + 15, item.label, { "text-anchor": "end" }));
    chart.append(svg("rect", { x: labelWidth, y: y + 3, width: Math.max(w, 1), height: row - 8, fill: PALETTE[index % PALETTE.length], rx: 2 }));
    chart.append(text(labelWidth + Math.max(w, 1) + 6, y + 15, format(item.value)));
  });
  return chart;
}

export function legend(names) {
  return h(
    "ul",
    { class: "legend" },
    names.map((name, index) => {
      const swatch = h("span", { class: "swatch", "aria-hidden": "true" });
      // CSSOM, not a style attribute: the Content-Security-Policy allows no inline style.
      swatch.style.background = PALETTE[index % PALETTE.length];
      return h("li", {}, swatch, name);
    }),
  );
}
