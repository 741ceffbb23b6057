// The dashboard shell: sign-in, navigation (#/<page>/<segments>?<query>), live refresh and the
// one place API errors that nothing else handles are shown.
import { api, clearToken, onUnauthorized, setToken, token } from "./api.js";
import { append, clear, h } from "./dom.js";
import { PAGES } from "./pages/index.js";
import { watchScrollables } from "./scrollables.js";
import { clearNotices, emptyState, notifyError, pageHeader } from "./ui.js";

const main = document.getElementById("main");
const navList = document.getElementById("nav-list");
const nav = document.getElementById("nav");
const navToggle = document.getElementById("nav-toggle");
const signOut = document.getElementById("sign-out");
const liveStatus = document.getElementById("live-status");

let view = null; // {timers, controller} of the page on screen

// A segment as typed: a malformed escape ("%E0%A4%A") is kept as it is, for the page to say it
// finds nothing, rather than throwing before any page is drawn.
function decodeSegment(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const cut = raw.indexOf("?");
  const path = cut < 0 ? raw : raw.slice(0, cut);
  const query = cut < 0 ? "" : raw.slice(cut + 1);
  const segments = path.split("/").filter(Boolean).map(decodeSegment);
  const name = segments.shift() || "overview";
  return { name, segments, params: new URLSearchParams(query) };
}

export function hashFor(name, segments = [], params) {
  const path = [name, ...segments.map(encodeURIComponent)].join("/");
  const query = params ? new URLSearchParams(params).toString() : "";
  return `#/${path}${query ? "?" + query : ""}`;
}

function leave() {
  if (!view) return;
  for (const timer of view.timers) clearInterval(timer);
  view.controller.abort();
  view = null;
}

function buildNav(current) {
  clear(navList);
  for (const page of PAGES) {
    const link = h("a", { href: hashFor(page.name), "aria-current": page.name === current ? "page" : null }, page.title);
    navList.append(h("li", {}, link));
  }
}

function showSignIn(message) {
  leave();
  signOut.hidden = true;
  nav.hidden = true;
  navToggle.hidden = true;
  liveStatus.textContent = "";
  const form = document.getElementById("sign-in-template").content.cloneNode(true);
  clear(main).append(form);
  document.title = "Sign in · llm-gateway admin";
  const input = document.getElementById("admin-token");
  const error = document.getElementById("sign-in-error");
  if (message) error.textContent = message;
  input.focus();
  document.getElementById("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (!value) {
      error.textContent = "Enter the admin token.";
      input.setAttribute("aria-invalid", "true");
      return;
    }
    try {
      await api("/health", { auth: value });
    } catch (failure) {
      input.setAttribute("aria-invalid", "true");
      error.textContent =
        failure.status === 401 || failure.status === 403
          ? "That token is not the gateway's admin token."
          : `The gateway did not accept the sign-in: ${failure.describe ? failure.describe() : failure}`;
      return;
    }
    setToken(value);
    input.value = "";
    route();
  });
}

// One live refresh of the page on screen (ctx.every). A tick is skipped while the previous one
// is still waiting, while a confirmation is open (a redraw would take away the control it
// returns focus to) and while the tab is hidden. A failure is shown once, not per tick, and its
// notice goes once a refresh works again.
function liveTick(current, fn) {
  let running = false;
  let failure = null;
  return async () => {
    if (view !== current || running || document.hidden || document.querySelector("dialog[open]")) return;
    running = true;
    try {
      await fn();
      if (failure) failure.remove();
      failure = null;
      if (view === current) liveStatus.textContent = `Live · updated ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      if (error.name === "AbortError" || view !== current) return;
      liveStatus.textContent = "Live updates failing";
      if (!failure) failure = notifyError(error, "Refreshing failed");
    } finally {
      running = false;
    }
  };
}

// A page whose first load failed: its title, what to do, and a way to try again in place.
function loadFailed(root, title) {
  const again = h("button", { type: "button", class: "button primary" }, "Try again");
  again.addEventListener("click", () => route());
  append(root, [
    root.querySelector("h1") ? null : pageHeader(title),
    emptyState("This page could not load (the notice above says why). Check that the gateway is up and answering, then try again.", again),
  ]);
}

async function route() {
  leave();
  if (!token()) {
    showSignIn();
    return;
  }
  const { name, segments, params } = parseHash();
  const page = PAGES.find((p) => p.name === name);
  signOut.hidden = false;
  nav.hidden = false;
  navToggle.hidden = false;
  setMenu(false);
  buildNav(page ? page.name : null);
  clearNotices();
  const root = clear(main);
  if (!page) {
    root.append(h("h1", {}, "No such page"), h("p", {}, "Choose a page from the menu."));
    return;
  }
  document.title = `${page.title} · llm-gateway admin`;
  const current = { timers: [], controller: new AbortController() };
  view = current;
  const ctx = {
    segments,
    params,
    signal: current.controller.signal,
    navigate: (hash) => {
      location.hash = hash;
    },
    every: (ms, fn) => current.timers.push(setInterval(liveTick(current, fn), ms)),
  };
  liveStatus.textContent = `Loading ${page.title}…`;
  try {
    const module = await import(`./pages/${page.name}.js`);
    if (view !== current) return;
    await module.render(root, ctx);
    if (view === current) liveStatus.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    if (error.name === "AbortError" || view !== current) return;
    liveStatus.textContent = `${page.title} did not load`;
    notifyError(error, `Loading ${page.title} failed`);
    loadFailed(root, page.title);
  }
  // The keyboard starts at the page, unless the person moved it while the page was loading.
  if (document.activeElement === document.body || document.activeElement === null) main.focus({ preventScroll: true });
}

onUnauthorized(() => {
  clearToken();
  showSignIn("The admin token was refused (changed or expired). Sign in again.");
});

signOut.addEventListener("click", () => {
  clearToken();
  showSignIn();
});

function setMenu(open) {
  nav.classList.toggle("open", open);
  navToggle.setAttribute("aria-expanded", String(open));
}

navToggle.addEventListener("click", () => setMenu(!nav.classList.contains("open")));

// Escape folds the phone menu and gives the keyboard back to its button.
document.querySelector(".topbar").addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || !nav.classList.contains("open")) return;
  setMenu(false);
  navToggle.focus();
});

// "#main" is not a page of the hash router: the skip link moves the keyboard, not the route.
document.querySelector(".skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

window.addEventListener("hashchange", route);
watchScrollables(main);
route();
