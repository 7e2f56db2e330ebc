// The release board: one row per application, one column per stage. Only the rows in
// view are in the page (the rest is an empty spacer of the right height), so a namespace
// of thousands of applications scrolls as fast as one of ten; the pages of the list are
// fetched one after the other without holding the page up, and the live stream keeps
// the rows current.

import { get, nsPath, Unauthenticated } from "./api.js";
import { h, badge, message, phaseClass } from "./dom.js";

const rowHeight = 56; // px; the same as .board-row's height in style.css
const headHeight = 32; // px; .board-head's, above the rows in the scrolled box
const overscan = 8; // rows drawn above and below the view
const firstPage = 100; // small, for the first paint
const nextPages = 500; // the API's default: a page parses in a few milliseconds

export function board(root, r, ctx) {
  const ns = r.ns;
  let q = r.query.get("q") || "";
  const state = {
    rows: [], // every application loaded, in the API's order (by name)
    shown: [], // the rows the search keeps
    stages: [], // the columns
    generation: 0, // a new search or resync makes older pages stale
    loading: true,
    error: "",
    drawn: new Map(), // index in shown -> row element
    firstRows: false,
  };
  ctx.crumbs(h("a", { href: `#/ns/${encodeURIComponent(ns)}` }, ns));

  const search = h("input", {
    type: "search", placeholder: "Search applications", value: q, "aria-label": "Search applications",
    oninput: () => {
      clearTimeout(search.timer);
      search.timer = setTimeout(() => {
        q = search.value.trim();
        ctx.setQuery(q);
        filter(); // at once, among what is loaded; then from the server
        load();
      }, 150);
    },
  });
  const count = h("span", { class: "muted count", role: "status" });
  const head = h("div", { class: "board-row board-head", role: "row" });
  const spacer = h("div", { class: "board-spacer" });
  const scroller = h("div", { class: "board-scroll", role: "grid", tabIndex: 0, "aria-label": "Applications by stage" }, head, spacer);
  const note = h("div", { class: "board-note" });
  const section = h("section", { class: "board" },
    h("div", { class: "board-tools" }, search, count), note, scroller);
  root.replaceChildren(section);

  // columns sets the grid's columns and the header when the stages change; the rows
  // drawn with the old columns go.
  function columns() {
    for (const el of state.drawn.values()) el.remove();
    state.drawn.clear();
    section.style.setProperty("--stages", String(Math.max(1, state.stages.length)));
    head.replaceChildren(h("div", { class: "cell app", role: "columnheader" }, "Application"),
      ...state.stages.map((s) => h("div", { class: "cell", role: "columnheader" }, s)));
  }

  // learnStages adds an application's stages to the columns, each after the stage
  // before it in that application.
  function learnStages(app) {
    let changed = false;
    let after = -1;
    for (const st of app.stages || []) {
      const i = state.stages.indexOf(st.name);
      if (i >= 0) {
        after = i;
        continue;
      }
      state.stages.splice(after + 1, 0, st.name);
      after++;
      changed = true;
    }
    return changed;
  }

  function matches(app) {
    return !q || app.name.toLowerCase().includes(q.toLowerCase());
  }

  function filter() {
    state.shown = state.rows.filter(matches);
    redraw();
  }

  // redraw sizes the board and draws the visible rows, keeping those that show the same
  // application as before.
  function redraw() {
    spacer.style.height = `${state.shown.length * rowHeight}px`;
    const n = state.shown.length;
    count.textContent = `${n.toLocaleString()} application${n === 1 ? "" : "s"}${state.loading ? ", loading…" : ""}`;
    note.replaceChildren(state.error ? message(state.error) : "",
      !state.loading && !state.error && n === 0 ? message(q ? `No application matches “${q}”.` : `No applications in ${ns}.`, "muted") : "");
    draw();
  }

  let frame = 0;
  function scheduleDraw() {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; draw(); });
  }

  // draw makes the rows in view (and a few around them) and drops the others.
  function draw() {
    const top = Math.max(0, scroller.scrollTop - headHeight);
    const height = scroller.clientHeight || window.innerHeight;
    const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
    const last = Math.min(state.shown.length - 1, Math.ceil((top + height) / rowHeight) + overscan);
    for (const [i, el] of state.drawn) {
      if (i < first || i > last || el.app !== state.shown[i]) {
        el.remove();
        state.drawn.delete(i);
      }
    }
    const add = [];
    for (let i = first; i <= last; i++) {
      if (state.drawn.has(i)) continue;
      const el = row(state.shown[i], i);
      state.drawn.set(i, el);
      add.push(el);
    }
    if (add.length) spacer.append(...add);
    if (!state.firstRows && state.drawn.size) {
      state.firstRows = true;
      performance.mark("ferry:first-rows");
    }
  }

  function row(app, i) {
    const el = h("div", { class: "board-row", role: "row", "aria-rowindex": i + 1, "data-app": app.name },
      h("div", { class: "cell app", role: "rowheader" },
        h("span", { class: `dot ${phaseClass(app.ready)}`, title: app.message || `Ready: ${app.ready || "unknown"}` }),
        h("a", { href: `#/ns/${encodeURIComponent(ns)}/apps/${encodeURIComponent(app.name)}` }, app.name)),
      ...state.stages.map((name) => stageCell(app, (app.stages || []).find((s) => s.name === name))));
    el.style.transform = `translateY(${i * rowHeight}px)`;
    el.app = app;
    return el;
  }

  function stageCell(app, st) {
    if (!st) return h("div", { class: "cell none", role: "gridcell" });
    const promo = st.activePromotion || (st.waitingApproval ? st.promotion : "");
    const link = (child) => (promo ? h("a", { href: `#/ns/${encodeURIComponent(ns)}/promotions/${encodeURIComponent(promo)}` }, child) : child);
    const cell = h("div", { class: "cell stage", role: "gridcell", "data-stage": st.name },
      h("div", { class: "version" }, link(st.version || "—"),
        st.waitingApproval ? h("a", { class: "badge wait", href: `#/ns/${encodeURIComponent(ns)}/promotions/${encodeURIComponent(promo)}`, title: "Waiting for approval" }, "approval") : null));
    if (!promo && st.phase === "Failed" && st.promotion) {
      cell.firstChild.append(h("a", { class: "badge bad", href: `#/ns/${encodeURIComponent(ns)}/promotions/${encodeURIComponent(st.promotion)}`,
        title: `The last delivery, ${st.promotion}, failed` }, "failed"));
    }
    if (promo && !st.waitingApproval) {
      const total = st.stepsTotal || 0;
      const done = Math.min(st.stepsDone || 0, total);
      const bar = h("span", { class: `fill ${phaseClass(st.phase)}` });
      bar.style.width = total ? `${(100 * done) / total}%` : "0%";
      cell.append(h("div", { class: "progress", title: `${st.phase || "Running"}: ${st.step || "starting"} (${done} of ${total} steps)` },
        h("span", { class: "step" }, st.step || st.phase || "starting"),
        h("span", { class: "bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": total, "aria-valuenow": done }, bar)));
    }
    return cell;
  }

  // load fetches the list page after page for the current search; the rows already
  // shown stay until the first page of the new answer comes.
  async function load() {
    const gen = ++state.generation;
    state.loading = true;
    let cont = "";
    let rows = [];
    let page = 0;
    try {
      do {
        const list = await get(nsPath(ns, "applications"), { limit: page ? nextPages : firstPage, continue: cont, q });
        if (gen !== state.generation) return;
        rows = rows.concat(list.items || []);
        cont = list.continue || "";
        page++;
        let changed = false;
        for (const app of list.items || []) changed = learnStages(app) || changed;
        if (changed) columns();
        state.rows = rows;
        state.loading = cont !== "";
        state.error = "";
        filter();
      } while (cont);
      performance.mark("ferry:all-rows");
    } catch (e) {
      if (gen !== state.generation || e instanceof Unauthenticated || e.name === "AbortError") return;
      state.loading = false;
      state.error = `Could not list the applications: ${e.message}`;
      redraw();
    }
  }

  // upsert puts a row the stream sent in its place (by name, as the API orders them).
  function upsert(app) {
    if (!app || !app.name) return;
    if (learnStages(app)) columns();
    let i = state.rows.findIndex((a) => a.name === app.name);
    if (i >= 0) state.rows[i] = app;
    else {
      i = state.rows.findIndex((a) => a.name > app.name);
      state.rows.splice(i < 0 ? state.rows.length : i, 0, app);
    }
    const j = state.shown.findIndex((a) => a.name === app.name);
    if (j >= 0 && matches(app)) {
      state.shown[j] = app;
      draw(); // its row, if drawn, shows another object now and is drawn again
      return;
    }
    filter();
  }

  const unsubscribe = ctx.subscribe((type, data) => {
    if (type === "application") {
      if (data && data.deleted) {
        state.rows = state.rows.filter((a) => a.name !== data.name);
        filter();
      } else upsert(data);
    } else if (type === "resync") load();
  });

  const gen0 = state.generation; // a search typed before the first load makes its own
  scroller.addEventListener("scroll", scheduleDraw, { passive: true });
  const resize = new ResizeObserver(scheduleDraw);
  resize.observe(scroller);
  columns();
  redraw();
  ctx.opened().then(() => { if (gen0 === state.generation) load(); });
  search.focus({ preventScroll: true });

  return () => {
    state.generation++;
    unsubscribe();
    resize.disconnect();
    cancelAnimationFrame(frame);
  };
}
