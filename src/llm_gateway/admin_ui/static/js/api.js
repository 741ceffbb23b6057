// The admin API client: every call carries the admin token from session storage as a bearer
// header; every non-2xx answer becomes an ApiError carrying the gateway's own message.
const TOKEN_KEY = "llm-gateway.admin-token";
export const ADMIN = "/api/admin/gateway";

export class ApiError extends Error {
  constructor(status, type, message, param, body) {
    super(message);
    this.status = status;
    this.type = type;
    this.param = param;
    this.body = body;
  }

  // What the person reads: the status, the gateway's message and the field it names.
  describe() {
    const where = this.param ? ` (${this.param})` : "";
    return `${this.status ? this.status + " " : ""}${this.message}${where}`;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// Listeners told when the token stops working (401/403): the app shows the sign-in form.
const unauthorized = new Set();
export function onUnauthorized(listener) {
  unauthorized.add(listener);
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const error = body && body.error ? body.error : {};
  let message = error.message || (body && typeof body.detail === "string" ? body.detail : null);
  if (!message) message = response.statusText || "request failed";
  const retry = response.headers.get("Retry-After");
  if (retry) message += ` (retry after ${retry} s)`;
  return new ApiError(response.status, error.type || "error", message, error.param, body);
}

// A gateway that accepts the connection but never answers (hung, or a proxy holding it) must
// not leave a page waiting forever: the call fails, and says so, after this long. A write gets
// longer (a reload waits up to 15 s for the other replicas, an alert test for its retries).
export const READ_TIMEOUT_MS = 20_000;
export const WRITE_TIMEOUT_MS = 60_000;

function timeoutError(method, ms) {
  const after = `the gateway did not answer within ${ms / 1000} s`;
  if (method === "GET") return new ApiError(0, "timeout", after);
  return new ApiError(0, "timeout", `${after}; the change may still be applied: reload the page to see before trying again`);
}

// api("/health"), api("/policies/writer", {method: "PUT", body: {...}}), with a query object.
// `signal` is the page's (leaving the page aborts with AbortError); the deadline is the call's own.
export async function api(path, { method = "GET", body, query, raw = false, signal, auth = token() } = {}) {
  let url = ADMIN + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
    }
    const text = params.toString();
    if (text) url += "?" + text;
  }
  const headers = { Accept: "application/json" };
  if (auth) headers.Authorization = `Bearer ${auth}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const controller = new AbortController();
  const deadline = method === "GET" ? READ_TIMEOUT_MS : WRITE_TIMEOUT_MS;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, deadline);
  const leave = () => controller.abort();
  if (signal) {
    if (signal.aborted) controller.abort();
    else signal.addEventListener("abort", leave, { once: true });
  }
  try {
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
        credentials: "omit",
        cache: "no-store",
      });
    } catch (cause) {
      if (timedOut) throw timeoutError(method, deadline);
      if (cause && cause.name === "AbortError") throw cause;
      throw new ApiError(0, "network", `the gateway did not answer (${cause.message || cause})`);
    }
    if (!response.ok) {
      const error = await errorOf(response);
      // The stored token stopped working (not a sign-in attempt with another one).
      if ((response.status === 401 || response.status === 403) && auth && auth === token()) {
        for (const listener of unauthorized) listener(error);
      }
      throw error;
    }
    if (raw) return response;
    if (response.status === 204) return null;
    return await response.json();
  } catch (error) {
    // the body stopped half-way past the deadline
    if (timedOut && !(error instanceof ApiError)) throw timeoutError(method, deadline);
    throw error;
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener("abort", leave);
  }
}
