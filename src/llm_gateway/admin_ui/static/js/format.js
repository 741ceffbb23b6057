// Formatting for people: times are local; amounts are rounded for reading (money.js's usdExact
// shows the gateway's exact decimal string where the figure is the record).

export function usd(value) {
  if (value === null || value === undefined || value === "") return "—";
  const text = String(value);
  const number = Number(text);
  if (!Number.isFinite(number)) return text;
  if (number === 0) return "$0";
  if (Math.abs(number) >= 1) return "$" + number.toFixed(2);
  // small amounts: six significant figures, written out (never "1e-7")
  const digits = Math.min(20, 5 - Math.floor(Math.log10(Math.abs(number))));
  return "$" + number.toFixed(digits).replace(/0+$/, "").replace(/\.$/, "");
}

export function ms(value) {
  if (value === null || value === undefined) return "—";
  const number = Number(value);
  if (number >= 10_000) return (number / 1000).toFixed(1) + " s";
  if (number >= 100) return Math.round(number) + " ms";
  return number.toFixed(1) + " ms";
}

export function pct(value, digits = 1) {
  if (value === null || value === undefined) return "—";
  return (Number(value) * 100).toFixed(digits) + " %";
}

export function count(value) {
  if (value === null || value === undefined) return "—";
  return Number(value).toLocaleString("en-US");
}

function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  if (value instanceof Date) return value;
  if (typeof value === "number") return new Date(value < 1e12 ? value * 1000 : value);
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function time(value) {
  const date = toDate(value);
  if (!date) return "—";
  return date.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function ago(value) {
  const date = toDate(value);
  if (!date) return "—";
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  if (seconds < 5) return "just now";
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 129600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.round(Number(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}
