// The dashboard's shell: the sign-in form, the routes in the URL's hash, and one live
// stream per namespace shared by the views.
//
//   #/ns/NS[?q=]                      the release board
//   #/ns/NS/apps/APP[?q=]             an application's history
//   #/ns/NS/promotions/NAME           a delivery (Promotion)
//   #/ns/NS/promotions/NAME/hooks/H   a hook's log

import { token, whenUnauthenticated, watch, signedInByProxy } from "./api.js";
import { h } from "./dom.js";
import { board } from "./board.js";
import { appHistory } from "./history.js";
import { promotion, hookLog } from "./promotion.js";

const view = document.getElementById("view");
const crumbs = document.getElementById("crumbs");
const nsForm = document.getElementById("ns-form");
const nsInput = document.getElementById("ns-input");
const live = document.getElementById("live");
const signOut = document.getElementById("sign-out");
const lastNS = "ferry.namespace";

const routes = [
  [/^\/ns\/([^/]+)\/?$/, (m) => ({ view: board, ns: m[1] })],
  [/^\/ns\/([^/]+)\/apps\/([^/]+)\/?$/, (m) => ({ view: appHistory, ns: m[1], app: m[2] })],
  [/^\/ns\/([^/]+)\/promotions\/([^/]+)\/?$/, (m) => ({ view: promotion, ns: m[1], name: m[2] })],
  [/^\/ns\/([^/]+)\/promotions\/([^/]+)\/hooks\/([^/]+)\/?$/, (m) => ({ view: hookLog, ns: m[1], name: m[2], hook: m[3] })],
];

// route reads the hash: its path's parts and its query.
function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = hash.split("?", 2);
  const params = new URLSearchParams(query);
  for (const [re, make] of routes) {
    const m = path.match(re);
    if (m) {
      const r = make(m.map((p, i) => (i ? decodeURIComponent(p) : p)));
      r.query = params;
      return r;
    }
  }
  return null;
}

// The live stream of one namespace, shared by whichever view shows it. A view reads
// what it shows once the stream is open, so that no change falls between the two.
const stream = { ns: "", abort: null, subscribers: new Set(), up: false, waiters: [] };

// openWait bounds the wait for the stream before a view reads anyway (the stream may be
// down; it resyncs the view when it comes).
const openWait = 500;

function subscribe(ns, f) {
  if (stream.ns !== ns) {
    stopStream();
    stream.ns = ns;
    stream.abort = new AbortController();
    watch(ns, stream.abort.signal, (type, data) => {
      for (const s of stream.subscribers) s(type, data);
    }, (up) => {
      stream.up = up;
      if (up && !performance.getEntriesByName("ferry:live").length) performance.mark("ferry:live");
      if (up) stream.waiters.splice(0).forEach((w) => w());
      live.hidden = false;
      live.classList.toggle("down", !up);
      live.textContent = up ? "live" : "reconnecting";
    });
  }
  stream.subscribers.add(f);
  return () => stream.subscribers.delete(f);
}

// streamOpen resolves when the namespace's stream is open, or after openWait.
function streamOpen() {
  if (stream.up) return Promise.resolve();
  return new Promise((resolve) => {
    stream.waiters.push(resolve);
    setTimeout(resolve, openWait);
  });
}

function stopStream() {
  if (stream.abort) stream.abort.abort();
  stream.ns = "";
  stream.abort = null;
  stream.up = false;
  stream.waiters.splice(0).forEach((w) => w());
  stream.subscribers.clear();
  live.hidden = true;
}

let unmount = () => {};

// proxy says whether an authenticating proxy in front of the server signed the person
// in (null: not asked yet); without a token the page asks once.
let proxy = null;

function show() {
  unmount();
  unmount = () => {};
  view.replaceChildren();
  if (!token.get() && proxy !== true) {
    stopStream();
    if (proxy === null) {
      view.replaceChildren(h("p", { class: "muted" }, "Loading…"));
      signedInByProxy().then((yes) => {
        proxy = yes;
        show();
      });
      return;
    }
    signIn();
    return;
  }
  signOut.hidden = !token.get(); // behind a proxy, signing out is the proxy's
  nsForm.hidden = false;
  const r = route();
  if (!r) {
    const ns = sessionStorage.getItem(lastNS) || "default";
    location.replace(`#/ns/${encodeURIComponent(ns)}`);
    return;
  }
  sessionStorage.setItem(lastNS, r.ns);
  if (document.activeElement !== nsInput) nsInput.value = r.ns;
  if (stream.ns && stream.ns !== r.ns) stopStream();
  const ctx = {
    subscribe: (f) => subscribe(r.ns, f),
    // opened resolves once the live stream is open (see streamOpen).
    opened: streamOpen,
    crumbs: (...parts) => crumbs.replaceChildren(...parts.flatMap((p, i) => (i ? [h("span", { class: "sep" }, "/"), p] : [p]))),
    // setQuery records a view's search in the URL without showing the view again.
    setQuery: (q) => {
      const [path] = location.hash.split("?", 1);
      window.history.replaceState(null, "", q ? `${path}?q=${encodeURIComponent(q)}` : path);
    },
  };
  ctx.crumbs();
  unmount = r.view(view, r, ctx) || (() => {});
}

// signIn asks for a Kubernetes bearer token; the API checks it on first use.
function signIn(note) {
  signOut.hidden = true;
  nsForm.hidden = true;
  crumbs.replaceChildren();
  const input = h("textarea", {
    id: "token", name: "token", rows: 4, required: true, spellcheck: false, autocomplete: "off",
    placeholder: "eyJhbGciOi…",
  });
  const form = h("form", { class: "card sign-in", onsubmit: (e) => {
    e.preventDefault();
    token.set(input.value);
    show();
  } },
  h("h1", {}, "Sign in"),
  note ? h("p", { class: "error", role: "alert" }, note) : null,
  h("label", { htmlFor: "token" }, "A Kubernetes bearer token (",
    h("code", {}, "kubectl create token NAME"), "); it is kept in this tab only."),
  input,
  h("button", { type: "submit", class: "primary" }, "Sign in"));
  view.replaceChildren(form);
  input.focus();
}

whenUnauthenticated(() => {
  unmount();
  unmount = () => {};
  stopStream();
  const byProxy = proxy === true;
  proxy = false;
  signIn(byProxy ? "The server no longer knows who you are: paste a Kubernetes token, or load the page again to sign in."
    : "The server refused the token (bad or expired): paste another one.");
});

signOut.addEventListener("click", () => {
  token.clear();
  stopStream();
  show();
});

nsForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const ns = nsInput.value.trim();
  if (ns) location.hash = `#/ns/${encodeURIComponent(ns)}`;
});

window.addEventListener("hashchange", show);
// A page left for another closes its stream, so that it holds no connection while the
// browser keeps it for the back button; shown again, it opens one and reloads its view.
window.addEventListener("pagehide", () => stopStream());
window.addEventListener("pageshow", (e) => {
  if (e.persisted) show();
});
show();
