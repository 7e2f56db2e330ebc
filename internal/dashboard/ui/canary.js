// The canary analysis charts: for each metric the judge compared, the canary's and the
// baseline's medians over the run's measurements, as two SVG series, with the metric's
// criterion, its latest verdict and why.

import { h, s, badge, time } from "./dom.js";

const W = 520;
const H = 200;
const M = { top: 14, right: 16, bottom: 34, left: 56 };

// judgeMetrics groups the judge's verdicts by template, cluster and metric, each list in
// the order of the measurements.
export function judgeMetrics(analyses) {
  const groups = new Map();
  const sorted = [...(analyses || [])].sort((a, b) => new Date(a.at) - new Date(b.at));
  const clusters = new Set(sorted.map((a) => a.cluster));
  for (const a of sorted) {
    for (const j of a.judge || []) {
      const key = [a.template, clusters.size > 1 ? a.cluster : "", j.name].join("\u0000");
      if (!groups.has(key)) groups.set(key, { template: a.template, cluster: clusters.size > 1 ? a.cluster : "", name: j.name, points: [] });
      groups.get(key).points.push({ at: a.at, step: a.step, measurement: a.measurement, ...j });
    }
  }
  return [...groups.values()];
}

// canaryCharts is a figure per metric, or nothing when no judge ran.
export function canaryCharts(analyses) {
  const metrics = judgeMetrics(analyses);
  if (!metrics.length) return null;
  return h("div", { class: "charts" }, metrics.map(chart));
}

function num(v) {
  const n = parseFloat(v);
  return Number.isFinite(n) ? n : null;
}

// fmt writes a value with up to four significant digits.
function fmt(n) {
  if (n === null) return "—";
  if (n !== 0 && (Math.abs(n) >= 1e5 || Math.abs(n) < 1e-3)) return n.toExponential(2);
  return String(Number(n.toPrecision(4)));
}

function chart(m) {
  const pts = m.points;
  const canary = pts.map((p) => num(p.canaryMedian));
  const baseline = pts.map((p) => num(p.baselineMedian));
  const values = [...canary, ...baseline].filter((v) => v !== null);
  // The axis spans the values with a margin, from 0 only when the values come near it,
  // so that a canary drifting a few percent from its baseline shows.
  const min = Math.min(...values);
  const max = Math.max(...values);
  const pad = Math.max((max - min) * 0.15, Math.abs(max) * 0.02, 1e-9);
  let lo = min - pad;
  const hi = max + pad;
  if (min >= 0 && (lo < 0 || min < (max - min) * 0.5)) lo = 0;
  const x = (i) => M.left + (pts.length === 1 ? (W - M.left - M.right) / 2 : (i * (W - M.left - M.right)) / (pts.length - 1));
  const y = (v) => M.top + (H - M.top - M.bottom) * (1 - (v - lo) / (hi - lo));

  const grid = [];
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    grid.push(s("line", { class: "grid", x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }),
      s("text", { class: "tick", x: M.left - 6, y: y(v) + 4, "text-anchor": "end" }, fmt(v)));
  }
  const every = Math.ceil(pts.length / 8);
  const xTicks = pts.map((p, i) => (i % every === 0 || i === pts.length - 1
    ? s("text", { class: "tick", x: x(i), y: H - M.bottom + 16, "text-anchor": pts.length > 1 && i === 0 ? "start" : pts.length > 1 && i === pts.length - 1 ? "end" : "middle" },
      `${p.step}#${p.measurement}`)
    : null));

  const series = (vals, cls, label) => {
    const idx = vals.map((v, i) => [v, i]).filter(([v]) => v !== null);
    return s("g", { class: `series ${cls}`, "data-series": cls, "data-points": idx.length },
      s("polyline", { points: idx.map(([v, i]) => `${x(i)},${y(v)}`).join(" ") }),
      idx.map(([v, i]) => s("circle", { cx: x(i), cy: y(v), r: 3.5 },
        s("title", {}, `${label} ${fmt(v)} at ${pts[i].step} measurement ${pts[i].measurement} (${time(pts[i].at)})`))));
  };

  const last = pts[pts.length - 1];
  const title = m.cluster ? `${m.name} (${m.template}, ${m.cluster})` : `${m.name} (${m.template})`;
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${m.name}: canary and baseline medians over ${pts.length} measurements` },
    grid,
    s("line", { class: "axis", x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom }),
    xTicks,
    series(baseline, "baseline", "baseline median"),
    series(canary, "canary", "canary median"));

  return h("figure", { class: "card chart-card", "data-metric": m.name },
    h("figcaption", {}, h("strong", {}, title), " ", badge(last.result)),
    h("div", { class: "legend" },
      h("span", { class: "key canary" }, "canary median"),
      h("span", { class: "key baseline" }, "baseline median")),
    svg,
    h("dl", { class: "facts" },
      h("dt", {}, "Criterion"), h("dd", { class: "criterion" }, last.criterion || "—"),
      h("dt", {}, "Verdict"), h("dd", { class: "verdict" }, last.result, last.reason ? ` — ${last.reason}` : ""),
      h("dt", {}, "Last measurement"), h("dd", {},
        `canary ${fmt(num(last.canaryMedian))} (n=${last.canaryCount}), baseline ${fmt(num(last.baselineMedian))} (n=${last.baselineCount})`,
        last.effect ? `, effect ${last.effect}` : "", last.pValue ? `, p=${last.pValue}` : "")));
}

// objectives is the table of SLO objectives of the latest measurement of each
// template, or nothing.
export function objectives(analyses) {
  const latest = new Map();
  for (const a of analyses || []) {
    if (!(a.objectives || []).length) continue;
    const key = `${a.template}\u0000${a.cluster}`;
    const had = latest.get(key);
    if (!had || new Date(a.at) >= new Date(had.at)) latest.set(key, a);
  }
  if (!latest.size) return null;
  return h("div", {}, [...latest.values()].map((a) => h("div", { class: "card" },
    h("h3", {}, `${a.template} `, h("span", { class: "muted" }, `${a.step} #${a.measurement}, ${a.cluster}, ${time(a.at)}`), " ",
      badge(a.result), a.score ? h("span", { class: "muted" }, ` score ${a.score}%`) : null),
    a.reason ? h("p", {}, a.reason) : null,
    h("table", {},
      h("thead", {}, h("tr", {}, ["SLI", "Value", "Status", "Score", "Criteria"].map((c) => h("th", {}, c)))),
      h("tbody", {}, a.objectives.map((o) => h("tr", {},
        h("td", {}, o.sli), h("td", {}, o.value || o.error || "—"), h("td", {}, badge(o.status)),
        h("td", {}, o.score || ""), h("td", {}, (o.criteria || []).join("; ")))))))));
}
