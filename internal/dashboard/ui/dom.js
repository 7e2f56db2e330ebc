// A small helper to build elements. Text is always set as text, never parsed as HTML,
// so nothing the API returns can run in the page.

const svgNS = "http://www.w3.org/2000/svg";

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.setAttribute("class", v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k in el && !(el instanceof SVGElement)) el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// h makes an HTML element: h("a", {href: "#/x"}, "text", child, ...).
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

// s makes an SVG element.
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(svgNS, tag), attrs, children);
}

// time formats an API timestamp as the browser's local date and time.
export function time(ts) {
  if (!ts) return "";
  const d = new Date(ts);
  return isNaN(d) ? ts : d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

// duration says how long from a to b (b empty: until now), as "1h 2m", "3m 4s", "5s".
export function duration(a, b) {
  if (!a) return "";
  const ms = (b ? new Date(b) : new Date()) - new Date(a);
  if (!(ms >= 0)) return "";
  const sec = Math.round(ms / 1000);
  if (sec < 60) return `${sec}s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min}m ${sec % 60}s`;
  const hr = Math.floor(min / 60);
  if (hr < 48) return `${hr}h ${min % 60}m`;
  return `${Math.floor(hr / 24)}d ${hr % 24}h`;
}

// phaseClass is the CSS class that colours a phase or a result.
export function phaseClass(phase) {
  switch ((phase || "").toLowerCase()) {
    case "succeeded": case "pass": case "true": return "ok";
    case "failed": case "fail": case "rollingback": case "false": return "bad";
    case "waitingapproval": case "waiting": case "warning": case "inconclusive": return "wait";
    case "running": case "pending": case "progressing": return "run";
    default: return "idle";
  }
}

// badge is a small coloured label.
export function badge(text, cls) {
  return h("span", { class: `badge ${cls || phaseClass(text)}` }, text);
}

// message shows an error or a note in place of a view.
export function message(text, cls = "error") {
  return h("p", { class: cls, role: cls === "error" ? "alert" : "status" }, text);
}

// table is a table of the columns' headings and the rows' cells.
export function table(cols, rows) {
  return h("table", {},
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))));
}
