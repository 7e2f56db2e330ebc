// An application's page: where each stage stands, its deliveries newest first with a
// search (a version, a stage, a phase, a commit, a person), and its Releases.

import { get, nsPath, APIError, Unauthenticated } from "./api.js";
import { h, badge, time, duration, message, phaseClass, table } from "./dom.js";

const pageSize = 100;

export function appHistory(root, r, ctx) {
  const { ns, app } = r;
  const nsHref = `#/ns/${encodeURIComponent(ns)}`;
  let q = r.query.get("q") || "";
  let closed = false;
  let generation = 0;
  ctx.crumbs(h("a", { href: nsHref }, ns), h("span", {}, app));

  const stages = h("div", { class: "stages" });
  const dora = h("p", { class: "dora muted" });
  const search = h("input", {
    type: "search", placeholder: "Search deliveries: version, stage, phase or commit", value: q, "aria-label": "Search deliveries",
    oninput: () => {
      clearTimeout(search.timer);
      search.timer = setTimeout(() => {
        q = search.value.trim();
        ctx.setQuery(q);
        loadHistory();
      }, 150);
    },
  });
  const deliveries = h("div", { class: "deliveries" }, h("p", { class: "muted" }, "Loading…"));
  const releases = h("div", { class: "releases" });
  root.replaceChildren(h("article", { class: "history", "data-app": app },
    h("h1", {}, app),
    stages,
    dora,
    h("section", { class: "section" }, h("h2", {}, "Deliveries"), h("div", { class: "board-tools" }, search), deliveries),
    h("section", { class: "section" }, h("h2", {}, "Releases"), releases)));

  async function loadApp() {
    let a;
    try {
      a = await get(nsPath(ns, "applications", app));
    } catch (e) {
      if (!(e instanceof Unauthenticated) && !closed) stages.replaceChildren(message(`Could not read application ${app}: ${e.message}`));
      return;
    }
    if (closed) return;
    stages.replaceChildren(
      a.message ? h("p", { class: `message ${phaseClass(a.ready)}` }, a.message) : "",
      h("div", { class: "stage-cards" }, (a.stages || []).map((st) => h("div", { class: "card stage-card", "data-stage": st.name },
        h("h3", {}, st.name),
        h("p", { class: "version" }, st.version || "—"),
        st.activePromotion
          ? h("p", {}, h("a", { href: `${nsHref}/promotions/${encodeURIComponent(st.activePromotion)}` }, st.activePromotion), " ",
            st.waitingApproval ? badge("approval", "wait") : st.phase ? badge(st.phase) : null)
          : h("p", { class: "muted" }, st.lastVerifiedRelease ? `verified: ${st.lastVerifiedRelease}` : "idle")))));
    releases.replaceChildren((a.releases || []).length
      ? table(["Release", "Version", "Flow", "Created", "Commit", "Verified in"], a.releases.map((rel) => [
        rel.name, rel.version, rel.flow, time(rel.created), rel.commit ? h("code", {}, rel.commit.slice(0, 12)) : "",
        (rel.verifiedStages || []).join(", ")]))
      : h("p", { class: "muted" }, "No releases."),
    a.releasesTruncated ? h("p", { class: "muted" }, "Only the newest are shown.") : "");
  }

  // loadDORA says how the application's last stage did over 30 days.
  async function loadDORA() {
    let f;
    try {
      f = await get(nsPath(ns, "applications", app, "dora"), { since: "720h" });
    } catch (e) {
      if (!(e instanceof Unauthenticated) && !closed) dora.textContent = `No delivery figures: ${e.message}`;
      return;
    }
    if (closed) return;
    const pct = (x) => `${Math.round(x * 1000) / 10}%`;
    dora.textContent = `Last 30 days in ${f.stage}: ${f.deployments} deployment${f.deployments === 1 ? "" : "s"} ` +
      `(${f.succeeded} verified, ${f.failed} failed), ${Math.round(f.perDay * 100) / 100} a day` +
      (f.leadTime ? `, lead time ${f.leadTime}` : "") +
      (f.deployments ? `, change failure rate ${pct(f.changeFailureRate)}` : "") +
      (f.timeToRestore ? `, time to restore ${f.timeToRestore}` : "") + ".";
  }

  async function loadHistory() {
    const gen = ++generation;
    let list;
    try {
      list = await get(nsPath(ns, "applications", app, "history"), { q, limit: pageSize });
    } catch (e) {
      if (e instanceof Unauthenticated || closed || gen !== generation) return;
      deliveries.replaceChildren(message(e instanceof APIError && e.status === 404 && /no route/.test(e.message)
        ? "This server has no delivery history yet."
        : `Could not read the deliveries: ${e.message}`));
      return;
    }
    if (closed || gen !== generation) return;
    const items = list.items || [];
    deliveries.replaceChildren(items.length
      ? table(["Delivery", "Version", "Stage", "Phase", "Started", "Took", "By", "Commit"], items.map((d) => [
        h("a", { href: `${nsHref}/promotions/${encodeURIComponent(d.name)}` }, d.name), d.version || d.release, d.stage,
        badge(d.phase || "Pending"), time(d.startedAt), d.finishedAt ? duration(d.startedAt, d.finishedAt) : "",
        d.createdBy || "", d.commit ? h("code", {}, d.commit.slice(0, 12)) : ""]))
      : h("p", { class: "muted" }, q ? `No delivery matches “${q}”.` : "No deliveries yet."));
  }

  // A delivery under way changes many times a second at times: the page reads again
  // 300 ms after the first change of a burst, taking in the whole burst.
  const later = { app: false, timer: 0 };
  const reload = (appToo) => {
    later.app ||= appToo;
    if (later.timer) return;
    later.timer = setTimeout(() => {
      if (later.app) loadApp();
      loadHistory();
      later.app = false;
      later.timer = 0;
    }, 300);
  };
  const unsubscribe = ctx.subscribe((type, data) => {
    if (type === "resync" || (type === "application" && data && data.name === app)) reload(true);
    else if (type === "promotion" && data && data.application === app) reload(false);
  });
  ctx.opened().then(() => {
    loadApp();
    loadHistory();
    loadDORA();
  });
  return () => {
    closed = true;
    clearTimeout(later.timer);
    unsubscribe();
  };
}
