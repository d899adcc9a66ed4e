// torc-grpc dashboard: plain DOM, no framework. Counts and events arrive by
// server-sent events (/api/workflows/ID/events); nothing here polls.
"use strict";

const view = document.getElementById("view");
const crumb = document.getElementById("crumb");
const feedState = document.getElementById("feed-state");
let palette = { order: [], colours: {} };
let feed = null;          // the open EventSource, if any
let leaving = () => {};   // tears down the current page
const FOLLOW_JOBS = 10000;  // workflows up to this size redraw graph and job page as counts arrive
const FOLLOW_MS = 2000;     // at most this often
const GRAPH_NODES = 30;     // nodes in the dashboard's graph; more jobs are grouped

async function api(path, options = {}) {
  const init = { credentials: "same-origin", ...options };
  if (init.method === "POST") init.headers = { "x-torc-dash": "1" };
  const response = await fetch(path, init);
  const text = await response.text();
  let body;
  try { body = JSON.parse(text); } catch (e) { body = { error: text }; }
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

const fmt = (n) => Number(n).toLocaleString("en-US");
const colour = (status) => palette.colours[status] || "#ccc";
const bytes = (n) => {
  if (!n) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0; while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
};

function bar(node, counts, total) {
  node.replaceChildren(...palette.order.filter((s) => counts[s]).map((s) =>
    el("span", { style: `width:${(100 * counts[s]) / Math.max(total, 1)}%;background:${colour(s)}`,
                 title: `${fmt(counts[s])} ${s}` })));
}

// ------------------------------------------------------------------ workflows

async function workflowsPage(seq) {
  const rows = await api("/api/workflows");
  if (seq !== routeSeq) return;  // the user went elsewhere meanwhile
  crumb.textContent = "workflows";
  const body = el("tbody");
  for (const w of rows) {
    const cell = el("td", { class: "progress" });
    const b = el("div", { class: "bar" }); bar(b, w.counts, w.num_jobs); cell.append(b);
    body.append(el("tr", { "data-workflow": w.id, onclick: () => { location.hash = `#/workflow/${w.id}`; } },
      el("td", { text: w.id }), el("td", { text: w.name }), el("td", { text: w.user }),
      el("td", { class: "state", text: w.state }), el("td", { text: `${fmt(w.done)} / ${fmt(w.num_jobs)}` }), cell));
  }
  const table = el("table", { class: "workflows" },
    el("thead", {}, el("tr", {}, ...["id", "name", "owner", "state", "done", "progress"].map((h) => el("th", { text: h })))),
    body);
  view.replaceChildren(el("h1", { text: "Workflows" }),
    rows.length ? table : el("p", { class: "muted", text: "No workflows on this server yet." }));
}

// ------------------------------------------------------------------- workflow

async function workflowPage(id, seq) {
  const page = document.getElementById("workflow-page").content.cloneNode(true);
  const parts = {};
  for (const node of page.querySelectorAll("[data-id]")) parts[node.dataset.id] = node;
  const wf = await api(`/api/workflows/${id}`);
  if (seq !== routeSeq) return;  // the user went elsewhere meanwhile
  crumb.replaceChildren(el("a", { href: "#/", text: "workflows" }), ` / ${id}`);
  parts.name.textContent = wf.name; parts.wfid.textContent = `#${wf.id}`; parts.user.textContent = wf.user ? ` · owner ${wf.user}` : "";
  for (const s of palette.order) parts.filter.append(el("option", { value: s, text: s }));
  view.replaceChildren(page);

  const showStatus = (s) => {
    document.body.dataset.state = s.state;
    parts.state.textContent = s.state; parts.run.textContent = s.run_id;
    parts.done.textContent = fmt(s.done); parts.total.textContent = fmt(s.num_jobs);
    bar(parts.bar, s.counts, s.num_jobs);
    parts.counts.replaceChildren(...palette.order.filter((k) => s.counts[k]).map((k) =>
      el("li", { "data-status": k, "data-count": s.counts[k] },
        el("i", { style: `background:${colour(k)}` }), `${k} ${fmt(s.counts[k])}`)));
    parts.cancel.disabled = s.state === "canceled" || s.state === "complete";
  };
  showStatus(wf);

  // The job table: a status filter and cursor paging (a stack of cursors for "previous").
  let cursors = [0];
  const loadJobs = async () => {
    const after = cursors[cursors.length - 1];
    const q = new URLSearchParams({ status: parts.filter.value, after_id: after });
    const pageData = await api(`/api/workflows/${id}/jobs?${q}`);
    parts.jobs.replaceChildren(...pageData.jobs.map((j) => el("tr", { "data-job": j.id, onclick: () => showJob(j.id) },
      el("td", { text: j.id }), el("td", { text: j.name }),
      el("td", {}, el("i", { class: "dot", style: `color:${colour(j.status)}`, text: "● " }), j.status),
      el("td", { text: j.attempt_id }), el("td", { text: j.compute_node_id || "" }))));
    parts.page.textContent = `page ${cursors.length}`;
    parts.prev.disabled = cursors.length === 1;
    parts.next.disabled = !pageData.next_after_id;
    parts.next.onclick = () => { cursors.push(pageData.next_after_id); loadJobs(); };
  };
  parts.prev.onclick = () => { cursors.pop(); loadJobs(); };
  parts.filter.onchange = () => { cursors = [0]; loadJobs(); };

  const showJob = async (jobId) => {
    const j = await api(`/api/jobs/${jobId}`);
    const rows = j.results.map((r) => el("tr", {},
      el("td", { text: `${r.run_id}.${r.attempt_id}` }), el("td", { text: r.status }), el("td", { text: r.return_code }),
      el("td", { text: `${r.exec_time_seconds} s` }), el("td", { text: bytes(r.peak_memory_bytes) }),
      el("td", { text: r.peak_cpu_percent ? `${r.peak_cpu_percent}%` : "-" })));
    parts["job-detail"].replaceChildren(
      el("h2", { text: `Job ${j.id}: ${j.name}` }), el("pre", { text: j.command }),
      el("p", { class: "muted", text: `requested ${j.requested.num_cpus} CPU, ${bytes(j.requested.memory_bytes)}, ` +
        `${j.requested.num_gpus} GPU, runtime ${j.requested.runtime_seconds || "-"} s` }),
      j.results.length ? el("table", { class: "resource-use" },
        el("thead", {}, el("tr", {}, ...["run.attempt", "status", "rc", "time", "peak memory", "peak CPU"]
          .map((h) => el("th", { text: h })))), el("tbody", {}, ...rows))
        : el("p", { class: "muted", text: "no attempt reported yet" }));
  };

  const loadFailed = async () => {
    const jobs = await api(`/api/workflows/${id}/failed`);
    parts.failed.replaceChildren(...(jobs.length ? jobs.map((j) => {
      const out = el("pre", { class: "stderr", text: "loading…" });
      const box = el("details", { "data-failed-job": j.id }, el("summary", { text: `${j.id} ${j.name} (attempt ${j.attempt_id})` }), out);
      box.addEventListener("toggle", async () => {
        if (!box.open) return;
        try {
          const e = await api(`/api/jobs/${j.id}/stderr`);
          out.textContent = (e.text ?? "") + (e.note ? `\n[${e.note}]` : "") || "(empty)";
        } catch (err) { out.textContent = err.message; }
      });
      return box;
    }) : [el("p", { class: "muted", text: "none" })]));
  };

  let graphShown = 0;
  const loadGraph = async () => {
    graphShown = Date.now();
    const g = await api(`/api/workflows/${id}/graph?max_nodes=${GRAPH_NODES}`);
    parts["graph-note"].textContent = `${fmt(g.num_jobs)} jobs, ${fmt(g.num_edges)} edges, ` +
      `${g.nodes.length} nodes (${g.grouping === "jobs" ? "one per job" : "grouped by " + g.grouping})`;
    parts.graph.replaceChildren(drawGraph(g, showJob));
  };
  parts["graph-refresh"].onclick = loadGraph;

  const say = (text) => { parts.message.textContent = text; };
  parts.cancel.onclick = async () => {
    if (!confirm(`Cancel workflow ${id}? Running jobs are stopped.`)) return;
    try { const r = await api(`/api/workflows/${id}/cancel`, { method: "POST" }); say(`canceled ${fmt(r.num_canceled)} jobs`); }
    catch (err) { say(err.message); }
  };
  parts.restart.onclick = async () => {
    try {
      const r = await api(`/api/workflows/${id}/restart`, { method: "POST" });
      say(`reset ${fmt(r.reset)} jobs; run ${r.run_id} started, ${fmt(r.num_ready)} ready`);
      openFeed(); loadFailed(); loadJobs();
    } catch (err) { say(err.message); }
  };

  const openFeed = () => {
    if (feed) feed.close();
    feed = new EventSource(`/api/workflows/${id}/events`);
    feedState.textContent = "live";
    let failedShown = wf.counts.failed || 0;
    feed.addEventListener("status", (e) => {
      const s = JSON.parse(e.data);
      showStatus(s);
      // Pushed counts drive the rest: the graph and the job page follow every few seconds
      // while the workflow is small enough to read cheaply; large ones on request or at the end.
      if (s.num_jobs <= FOLLOW_JOBS && Date.now() - graphShown > FOLLOW_MS) { loadGraph(); loadJobs(); }
      if ((s.counts.failed || 0) !== failedShown) { failedShown = s.counts.failed || 0; loadFailed(); }
    });
    feed.addEventListener("events", (e) => {
      for (const ev of JSON.parse(e.data)) {
        const d = ev.data && ev.data.job_id ? ` job ${ev.data.job_id}` : "";
        parts.events.prepend(el("li", { class: ev.severity, text: `${ev.time.slice(11, 19)} ${ev.event_type}${d}` }));
      }
      while (parts.events.children.length > 50) parts.events.lastChild.remove();
    });
    feed.addEventListener("end", () => { feed.close(); feed = null; feedState.textContent = "ended"; loadFailed(); loadJobs(); loadGraph(); });
    feed.addEventListener("error", (e) => { feedState.textContent = e.data ? JSON.parse(e.data).message : "reconnecting…"; });
  };
  leaving = () => { if (feed) { feed.close(); feed = null; } feedState.textContent = ""; };
  await Promise.all([loadJobs(), loadFailed(), loadGraph()]);
  if (seq === routeSeq && wf.state !== "complete" && wf.state !== "canceled") openFeed();
}

// ------------------------------------------------------------------ the graph

function drawGraph(g, onJob) {
  const NS = "http://www.w3.org/2000/svg";
  const layout = new dagre.graphlib.Graph();
  layout.setGraph({ rankdir: "TB", nodesep: 24, ranksep: 40, marginx: 8, marginy: 8 });
  layout.setDefaultEdgeLabel(() => ({}));
  const lines = (n) => n.num_jobs === 1 ? [n.label, Object.keys(n.counts)[0] || ""]
    : [n.label, `${fmt(n.num_jobs)} jobs`, Object.entries(n.counts).map(([s, c]) => `${fmt(c)} ${s}`).join(", ")];
  for (const n of g.nodes) {
    const width = Math.max(90, ...lines(n).map((t) => t.length * 6.6 + 16));
    layout.setNode(String(n.id), { width, height: 16 * lines(n).length + 10, node: n });
  }
  for (const e of g.edges) if (e.blocker !== e.dependent) layout.setEdge(String(e.blocker), String(e.dependent), { count: e.count });
  dagre.layout(layout);
  const svg = document.createElementNS(NS, "svg");
  const size = layout.graph();
  svg.setAttribute("width", size.width); svg.setAttribute("height", size.height);
  svg.setAttribute("class", "dag");
  svg.innerHTML = `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">
    <path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs>`;
  const add = (parent, tag, attrs) => { const x = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs)) x.setAttribute(k, v); parent.append(x); return x; };
  for (const id of layout.edges()) {
    const e = layout.edge(id);
    add(svg, "path", { d: "M" + e.points.map((p) => `${p.x},${p.y}`).join("L"), fill: "none", stroke: "#777", "marker-end": "url(#arrow)" });
  }
  for (const id of layout.nodes()) {
    const box = layout.node(id), n = box.node;
    const group = add(svg, "g", { class: "node", "data-node": n.id, "data-jobs": n.num_jobs, transform: `translate(${box.x - box.width / 2},${box.y - box.height / 2})` });
    let x = 0;
    for (const s of palette.order.filter((k) => n.counts[k])) {
      const w = (box.width * n.counts[s]) / n.num_jobs;
      add(group, "rect", { x, y: 0, width: w, height: box.height, fill: colour(s) });
      x += w;
    }
    add(group, "rect", { x: 0, y: 0, width: box.width, height: box.height, fill: "none", stroke: "#333", rx: 3 });
    lines(n).forEach((t, i) => { const txt = add(group, "text", { x: box.width / 2, y: 17 + 16 * i, "text-anchor": "middle" }); txt.textContent = t; });
    add(group, "title", {}).textContent = n.job_id ? `job ${n.job_id}` : `${fmt(n.num_jobs)} jobs`;
    if (n.job_id) { group.style.cursor = "pointer"; group.addEventListener("click", () => onJob(n.job_id)); }
  }
  return svg;
}

// -------------------------------------------------------------------- routing

let routeSeq = 0;  // bumped per navigation: a page whose data arrives late does not draw over a newer one

async function route() {
  const seq = ++routeSeq;
  leaving(); leaving = () => {};
  delete document.body.dataset.state;
  const m = location.hash.match(/^#\/workflow\/(\d+)$/);
  try { await (m ? workflowPage(Number(m[1]), seq) : workflowsPage(seq)); }
  catch (err) { if (seq === routeSeq) view.replaceChildren(el("p", { class: "message", text: err.message })); }
}

(async () => {
  palette = await api("/api/palette");
  window.addEventListener("hashchange", route);
  route();
})();
