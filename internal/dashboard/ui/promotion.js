// The delivery page: one Promotion's checkpoints as a timeline, its approvals (with the
// approve and reject buttons for a user who may decide), the abort button (and resume,
// when a canary step waits for a person) while it runs, canary analysis, hooks and
// their logs, events and change record. The page reads the Promotion again whenever the
// live stream names it.

import { get, getText, post, nsPath, APIError, Unauthenticated } from "./api.js";
import { h, badge, time, duration, message, phaseClass, table } from "./dom.js";
import { canaryCharts, objectives } from "./canary.js";

export function promotion(root, r, ctx) {
  const { ns, name } = r;
  const nsHref = `#/ns/${encodeURIComponent(ns)}`;
  const sec = (id, title) => {
    const body = h("div", { class: "section-body" });
    const el = h("section", { id, class: "section", hidden: true }, h("h2", {}, title), body);
    el.body = body;
    return el;
  };
  const head = h("div", { class: "delivery-head" }, h("p", { class: "muted" }, "Loading…"));
  const approval = sec("approval", "Approval");
  const control = sec("control", "Control");
  const timeline = sec("timeline", "Checkpoints");
  const canary = sec("canary", "Canary analysis");
  const slo = sec("slo", "Quality gates");
  const hooks = sec("hooks", "Hooks");
  const approvals = sec("approvals", "Approvals given");
  const events = sec("events", "Events");
  const change = sec("change", "Change record");
  root.replaceChildren(h("article", { class: "delivery", "data-promotion": name },
    head, approval, control, timeline, canary, slo, hooks, approvals, events, change));

  // The decision form is made once, so a reason being typed survives the refreshes.
  const reason = h("textarea", { id: "reason", name: "reason", rows: 2, maxLength: 1024, placeholder: "Why (needed to reject)" });
  const note = h("p", { class: "decision-note", role: "status" });
  const approveBtn = h("button", { type: "button", class: "primary", id: "approve", onclick: () => decide("approve") }, "Approve");
  const rejectBtn = h("button", { type: "button", class: "danger", id: "reject", onclick: () => decide("reject") }, "Reject");
  const form = h("form", { class: "decision", onsubmit: (e) => e.preventDefault() },
    h("label", { htmlFor: "reason" }, "Reason"), reason, h("div", { class: "buttons" }, approveBtn, rejectBtn));
  const approvalInfo = h("div");
  approval.body.append(approvalInfo, form, note);

  // The control form (abort, resume) is made once too: the API judges who may act (403
  // otherwise), as for ferry abort and ferry resume.
  const why = h("textarea", { id: "override-reason", name: "override-reason", rows: 2, maxLength: 1024, placeholder: "Why (needed)" });
  const overrideNote = h("p", { class: "decision-note", id: "override-note", role: "status" });
  const abortBtn = h("button", { type: "button", class: "danger", id: "abort", onclick: () => override("abort") }, "Abort");
  const resumeBtn = h("button", { type: "button", class: "primary", id: "resume", onclick: () => override("resume") }, "Resume");
  control.body.append(h("form", { class: "decision", onsubmit: (e) => e.preventDefault() },
    h("label", { htmlFor: "override-reason" }, "Reason"), why, h("div", { class: "buttons" }, resumeBtn, abortBtn)), overrideNote);

  let current = null; // the Promotion shown
  let closed = false;

  async function decide(what) {
    const why = reason.value.trim();
    if (what === "reject" && !why) {
      note.className = "decision-note error";
      note.textContent = "A rejection needs a reason.";
      reason.focus();
      return;
    }
    approveBtn.disabled = rejectBtn.disabled = true;
    note.className = "decision-note muted";
    note.textContent = what === "approve" ? "Approving…" : "Rejecting…";
    try {
      await post(nsPath(ns, "applications", appOf(current), "stages", current.stage || current.spec.stage, what), { reason: why });
      note.className = "decision-note ok";
      note.textContent = what === "approve" ? "Approved." : "Rejected.";
      reason.value = "";
      refresh();
    } catch (e) {
      if (e instanceof Unauthenticated) return;
      note.className = "decision-note error";
      note.textContent = e.message;
      approveBtn.disabled = rejectBtn.disabled = false;
    }
  }

  async function override(what) {
    const reasonText = why.value.trim();
    if (!reasonText) {
      overrideNote.className = "decision-note error";
      overrideNote.textContent = what === "abort" ? "An abort needs a reason." : "A resume needs a reason.";
      why.focus();
      return;
    }
    abortBtn.disabled = resumeBtn.disabled = true;
    overrideNote.className = "decision-note muted";
    overrideNote.textContent = what === "abort" ? "Aborting…" : "Resuming…";
    try {
      await post(nsPath(ns, "applications", appOf(current), "stages", current.stage || current.spec.stage, what), { reason: reasonText });
      overrideNote.className = "decision-note ok";
      overrideNote.textContent = what === "abort" ? "Aborted." : "Resumed.";
      why.value = "";
      refresh();
    } catch (e) {
      if (e instanceof Unauthenticated) return;
      overrideNote.className = "decision-note error";
      overrideNote.textContent = e.message;
    } finally {
      abortBtn.disabled = resumeBtn.disabled = false;
    }
  }

  // The refreshes are one at a time; a request for one while another runs makes one more.
  let running = false;
  let again = false;
  async function refresh() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await load();
      } while (again && !closed);
    } finally {
      running = false;
    }
  }

  async function load() {
    let p;
    try {
      p = await get(nsPath(ns, "promotions", name));
    } catch (e) {
      if (!(e instanceof Unauthenticated) && !closed) head.replaceChildren(message(`Could not read promotion ${name}: ${e.message}`));
      return;
    }
    if (closed) return;
    current = p;
    render(p);
    await loadApproval(p);
  }

  async function loadApproval(p) {
    const st = p.status || {};
    const waiting = st.phase === "WaitingApproval";
    if (!waiting && approval.hidden) return;
    let a = null;
    try {
      a = await get(nsPath(ns, "applications", appOf(p), "stages", p.stage || p.spec.stage, "approval"));
    } catch (e) {
      if (e instanceof Unauthenticated || closed) return;
      approval.hidden = !waiting;
      form.hidden = true;
      approvalInfo.replaceChildren(message(e instanceof APIError && e.status === 404 ? "The server cannot tell who may approve." : e.message));
      return;
    }
    if (closed) return;
    const forThis = a.promotion === name && a.waiting;
    approval.hidden = approval.hidden && !forThis && !waiting; // once shown, it stays, with how it ended
    form.hidden = !(forThis && a.mayApprove);
    approveBtn.disabled = rejectBtn.disabled = false;
    const got = (a.approvals || []).length;
    approvalInfo.replaceChildren(
      h("p", {}, forThis
        ? `Waiting for ${a.quorum || 1} approval${(a.quorum || 1) === 1 ? "" : "s"} from ${(a.groups || []).join(", ") || "the approver groups"}: ${got} so far.`
        : "This delivery no longer waits for approval."),
      ...(forThis && !a.mayApprove ? [h("p", { class: "muted why" }, a.why || "You may not approve this delivery.")] : []));
  }

  function render(p) {
    const st = p.status || {};
    const spec = p.spec || {};
    const app = appOf(p);
    ctx.crumbs(h("a", { href: nsHref }, ns),
      h("a", { href: `${nsHref}/apps/${encodeURIComponent(app)}` }, app),
      h("span", {}, name));
    head.replaceChildren(
      h("h1", {}, `${app} → ${p.stage || spec.stage}`, " ", h("span", { class: "version" }, p.version || spec.release), " ",
        h("span", { id: "phase", class: `badge ${phaseClass(st.phase)}`, "data-phase": st.phase || "" }, st.phase || "Pending")),
      h("p", { class: "muted" }, `Promotion ${name}, release ${spec.release}, created ${time(p.created)}`,
        spec.rollback ? ` — a rollback by ${spec.rollback.user || "someone"}: ${spec.rollback.reason}` : "",
        st.rollbackTo ? ` — rolled back to ${st.rollbackTo}` : ""),
      st.message ? h("p", { class: "message" }, st.message) : "");

    renderControl(p);
    fill(timeline, (st.checkpoints || []).length ? timelineOf(st.checkpoints, p.created, st.phase) : null);
    const charts = canaryCharts(st.analyses);
    fill(canary, charts || st.canary ? [st.canary ? canaryState(st.canary) : null, charts] : null);
    fill(slo, objectives(st.analyses));
    fill(hooks, (st.hooks || []).length ? hooksTable(st.hooks) : null);
    fill(approvals, (st.approvals || []).length ? table(["User", "Group", "When"],
      st.approvals.map((a) => [a.user, a.group, time(a.time)])) : null);
    fill(events, (p.events || []).length ? table(["When", "Type", "Reason", "Message"],
      [...p.events].reverse().map((e) => [time(e.time), badge(e.type, e.type === "Warning" ? "bad" : "idle"), e.reason, e.count ? `${e.message} (×${e.count})` : e.message])) : null);
    fill(change, p.changeRecord ? changeRecord(p.changeRecord) : null);
  }

  // renderControl shows the control section while the delivery runs (and, once shown,
  // how a person ended it); resume only while a canary step waits for a person.
  function renderControl(p) {
    const st = p.status || {};
    const spec = p.spec || {};
    const running = !["Succeeded", "Failed", "Superseded"].includes(st.phase) && !spec.abort && st.phase !== "RollingBack";
    control.hidden = control.hidden && !running;
    control.querySelector("form").hidden = !running;
    resumeBtn.hidden = !(running && waitsForAPerson(st));
    if (spec.abort && !overrideNote.textContent) {
      overrideNote.className = "decision-note muted";
      overrideNote.textContent = `Aborted by ${spec.abort.user || "someone"}: ${spec.abort.reason}`;
    }
  }

  function hooksTable(list) {
    return table(["Step", "Hook", "Kind", "Phase", "Started", "Message", "Log"], list.map((k) => [
      k.step, k.name, k.kind, badge(k.phase), time(k.startedAt), k.message || "",
      k.kind === "job"
        ? h("a", { href: `${nsHref}/promotions/${encodeURIComponent(name)}/hooks/${encodeURIComponent(k.name)}?step=${encodeURIComponent(k.step)}` }, "log")
        : k.attempts ? `${k.attempts} call${k.attempts === 1 ? "" : "s"}` : "",
    ]));
  }

  // A second's tick moves the running checkpoints' durations.
  const tick = setInterval(() => {
    for (const el of root.querySelectorAll("[data-since]")) el.textContent = duration(el.dataset.since);
  }, 1000);

  const unsubscribe = ctx.subscribe((type, data) => {
    if ((type === "promotion" && data && data.name === name) || type === "resync") refresh();
  });
  ctx.opened().then(refresh);
  return () => {
    closed = true;
    clearInterval(tick);
    unsubscribe();
  };
}

// waitsForAPerson says whether a canary step waits for ferry resume (a pause without a
// duration, an inconclusive analysis that says pause), as its message tells.
function waitsForAPerson(st) {
  const c = st.canary;
  return !!c && c.phase === "Progressing" && (c.message || "").includes("(ferry resume ");
}

function appOf(p) {
  return p.application || (p.spec || {}).application;
}

function fill(section, content) {
  section.hidden = !content;
  section.body.replaceChildren(...(content ? [content].flat().filter((c) => c) : []));
}


// timelineOf draws each checkpoint as a bar over the delivery's span, with its duration;
// the approval step is coloured as waiting while the delivery waits for approvers.
function timelineOf(cps, created, phase) {
  const t = (v) => (v ? new Date(v).getTime() : null);
  const now = Date.now();
  const starts = cps.map((c) => t(c.startedAt)).filter((v) => v !== null);
  const t0 = Math.min(t(created) ?? Infinity, ...starts);
  const t1 = Math.max(...cps.map((c) => t(c.finishedAt) ?? (c.phase === "Running" ? now : t(c.startedAt)) ?? t0), t0 + 1);
  return h("ol", { class: "timeline" }, cps.map((c) => {
    const a = t(c.startedAt);
    const b = t(c.finishedAt) ?? (c.phase === "Running" ? now : a);
    const cls = phase === "WaitingApproval" && c.name === "approval" && c.phase === "Running" ? "wait" : phaseClass(c.phase);
    const bar = h("span", { class: `span ${cls}` });
    if (a !== null) {
      bar.style.left = `${(100 * (a - t0)) / (t1 - t0)}%`;
      bar.style.width = `max(3px, ${(100 * (b - a)) / (t1 - t0)}%)`;
    }
    const took = c.startedAt
      ? c.finishedAt
        ? h("span", { class: "took" }, duration(c.startedAt, c.finishedAt))
        : c.phase === "Running" ? h("span", { class: "took", "data-since": c.startedAt }, duration(c.startedAt)) : null
      : null;
    return h("li", { class: `checkpoint ${cls}`, "data-checkpoint": c.name, "data-phase": c.phase },
      h("div", { class: "cp-name" }, c.name, " ", badge(c.phase, cls)),
      h("div", { class: "cp-track", title: `${time(c.startedAt)} – ${c.finishedAt ? time(c.finishedAt) : c.phase}` }, bar),
      h("div", { class: "cp-time" }, took),
      c.message ? h("div", { class: "cp-message" }, c.message) : null);
  }));
}

function canaryState(c) {
  return h("p", { class: "canary-state" }, `Canary ${c.phase}: step ${c.step}, weight ${c.weight || 0}%, `,
    `${c.canaryReplicas || 0} canary / ${c.stableReplicasNow || 0} stable pods`,
    c.baseline ? `, ${c.baselineReplicas || 0} baseline` : "", c.message ? ` — ${c.message}` : "");
}

function changeRecord(cr) {
  return h("div", { class: "card" },
    h("dl", { class: "facts" },
      h("dt", {}, "Record"), h("dd", {}, cr.name),
      h("dt", {}, "Result"), h("dd", {}, badge(cr.result || "Open")),
      h("dt", {}, "Opened"), h("dd", {}, time(cr.openedAt)),
      cr.closedAt ? [h("dt", {}, "Closed"), h("dd", {}, time(cr.closedAt))] : null,
      cr.commit ? [h("dt", {}, "Commit"), h("dd", {}, h("code", {}, cr.commit), cr.repoURL ? ` in ${cr.repoURL}` : "")] : null,
      (cr.approvers || []).length ? [h("dt", {}, "Approvers"), h("dd", {}, cr.approvers.map((a) => `${a.user} (${a.group})`).join(", "))] : null,
      cr.serviceNow ? [h("dt", {}, "ServiceNow"), h("dd", {}, cr.serviceNow.number || cr.serviceNow.sysID)] : null,
      cr.message ? [h("dt", {}, "Message"), h("dd", {}, cr.message)] : null));
}

// hookLog shows a job hook's log as text.
export function hookLog(root, r, ctx) {
  const { ns, name, hook } = r;
  const step = r.query.get("step") || "";
  const nsHref = `#/ns/${encodeURIComponent(ns)}`;
  ctx.crumbs(h("a", { href: nsHref }, ns), h("a", { href: `${nsHref}/promotions/${encodeURIComponent(name)}` }, name), h("span", {}, `hook ${hook}${step ? ` (${step})` : ""}`));
  const pre = h("pre", { class: "log" }, "Loading…");
  root.replaceChildren(h("article", { class: "hook-log" }, h("h1", {}, `Log of hook ${hook}${step ? ` in ${step}` : ""}`), pre));
  const ctl = new AbortController();
  const path = nsPath(ns, "promotions", name, "hooks", hook, "log");
  getText(step ? `${path}?step=${encodeURIComponent(step)}` : path, ctl.signal)
    .then((text) => { pre.textContent = text || "(empty)"; })
    .catch((e) => { if (!(e instanceof Unauthenticated) && e.name !== "AbortError") pre.replaceWith(message(e.message)); });
  return () => ctl.abort();
}
