// The REST API under /api/v1/, called with the user's Kubernetes bearer token (or with
// none behind an authenticating proxy), and its live updates. The token lives in
// sessionStorage: it goes with the tab and is sent nowhere but this server.

const tokenKey = "ferry.token";

export const token = {
  get: () => sessionStorage.getItem(tokenKey) || "",
  set: (t) => sessionStorage.setItem(tokenKey, t.trim()),
  clear: () => sessionStorage.removeItem(tokenKey),
};

// Unauthenticated is thrown when the server refuses the token (401): the page goes back
// to the sign-in form.
export class Unauthenticated extends Error {}

// APIError is any other refusal, with the server's own words.
export class APIError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let onUnauthenticated = () => {};

// whenUnauthenticated sets what happens when the server refuses the token.
export function whenUnauthenticated(f) {
  onUnauthenticated = f;
}

export const enc = encodeURIComponent;

// nsPath is the API path of a namespace's collection or object.
export function nsPath(ns, ...parts) {
  return `/api/v1/namespaces/${enc(ns)}/` + parts.map(enc).join("/");
}

// headers carry the token when there is one; without, an authenticating proxy in front
// of the server may vouch for the person.
function headers(extra) {
  const t = token.get();
  return t ? { Authorization: `Bearer ${t}`, ...extra } : { ...extra };
}

// signedInByProxy asks the API, without a token, whether something in front of the
// server (an authenticating proxy) has signed the person in: any answer but 401 says so.
export async function signedInByProxy() {
  try {
    const resp = await fetch("/api/v1/namespaces/default/applications?limit=1", { cache: "no-store" });
    return resp.status !== 401;
  } catch {
    return false;
  }
}

async function check(resp) {
  if (resp.status === 401) {
    token.clear();
    onUnauthenticated();
    throw new Unauthenticated("the token was refused");
  }
  if (!resp.ok) {
    let msg = `${resp.status} ${resp.statusText}`;
    try {
      const body = await resp.json();
      if (body && body.error) msg = body.error;
    } catch {
      // not JSON: keep the status line
    }
    throw new APIError(resp.status, msg);
  }
  return resp;
}

// get reads JSON from path (with query parameters, empty ones left out).
export async function get(path, query = {}, signal) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") q.set(k, v);
  const url = q.size ? `${path}?${q}` : path;
  const resp = await check(await fetch(url, { headers: headers(), signal, cache: "no-store" }));
  return resp.json();
}

// getText reads a text answer (a hook's log).
export async function getText(path, signal) {
  const resp = await check(await fetch(path, { headers: headers(), signal, cache: "no-store" }));
  return resp.text();
}

// post sends JSON and returns the answer's JSON (or null).
export async function post(path, body) {
  const resp = await check(await fetch(path, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify(body),
  }));
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

// watch follows a namespace's server-sent events until signal aborts: onEvent(type,
// data) for each, onState(true|false) as the stream comes and goes. EventSource cannot
// send a token, so the stream is read with fetch. A broken stream is opened again after
// a pause that grows to 15 s; a stream opened after a failed or broken one starts with
// a resync (the page reloads what it shows), since events may have been missed.
export function watch(ns, signal, onEvent, onState = () => {}) {
  let pause = 500;
  let tries = 0;
  const run = async () => {
    while (!signal.aborted) {
      try {
        tries++;
        const resp = await check(await fetch(nsPath(ns, "watch"), {
          headers: headers({ Accept: "text/event-stream" }), signal, cache: "no-store",
        }));
        onState(true);
        if (tries > 1) onEvent("resync", null); // the views may have read before it opened
        pause = 500;
        await readEvents(resp.body, onEvent);
      } catch (e) {
        if (e instanceof Unauthenticated || signal.aborted) return;
      }
      onState(false);
      if (signal.aborted) return;
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 15000);
    }
  };
  run();
}

// readEvents parses a text/event-stream body: "event:" and "data:" lines, a blank line
// ending each event; comments (":") keep the connection alive and are skipped.
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let type = "message";
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, "");
      buf = buf.slice(nl + 1);
      if (line === "") {
        if (data.length || type !== "message") dispatch(onEvent, type, data.join("\n"));
        type = "message";
        data = [];
      } else if (line.startsWith("event:")) {
        type = line.slice(6).trim();
      } else if (line.startsWith("data:")) {
        data.push(line.slice(5).replace(/^ /, ""));
      }
    }
  }
}

function dispatch(onEvent, type, text) {
  let data = null;
  if (text !== "") {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  onEvent(type, data);
}
