"use strict";
// The runs page: every run under --runs with its curves, several on one chart, each ticked run
// followed live through server-sent events (GET /api/runs/stream); studies as their tables and figures.

const SVGNS = "http://www.w3.org/2000/svg";
const COLOURS = ["#2f6fde", "#e4572e", "#29a35a", "#a05ad6", "#f0a500", "#17becf", "#8c564b", "#e377c2"];
const MAX_FOLLOWED = 6; // live streams this page opens at most (the server caps all clients together)
const $ = (id) => document.getElementById(id);
const followed = new Map(); // run name -> { rows, source, colour }

function svg(name, attrs = {}, text = null) {
  const e = document.createElementNS(SVGNS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== null) e.textContent = text;
  return e;
}

function draw() {
  const metric = $("metric").value;
  const W = 520, H = 300, L = 48, B = 28, T = 10, R = 10;
  const series = [...followed.entries()].map(([name, f]) => [name, f, f.rows.filter((r) => r[metric] != null)]);
  const all = series.flatMap(([, , rows]) => rows);
  const chart = svg("svg", { width: W, height: H, role: "img", "aria-label": `${metric} by epoch` });
  if (all.length) {
    const xs = all.map((r) => r.epoch), ys = all.map((r) => r[metric]);
    const [x0, x1] = [Math.min(...xs, 0), Math.max(...xs, 1)];
    let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    if (y0 === y1) { y0 -= 0.5; y1 += 0.5; }
    const sx = (x) => L + (x - x0) / (x1 - x0) * (W - L - R), sy = (y) => H - B - (y - y0) / (y1 - y0) * (H - B - T);
    chart.append(svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }),
                 svg("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }),
                 svg("text", { x: L, y: H - 8 }, `epoch ${x0}`), svg("text", { x: W - R - 50, y: H - 8 }, `epoch ${x1}`),
                 svg("text", { x: 2, y: T + 8 }, y1.toPrecision(3)), svg("text", { x: 2, y: H - B }, y0.toPrecision(3)));
    for (const [name, f, rows] of series) {
      const d = rows.map((r, i) => `${i ? "L" : "M"}${sx(r.epoch).toFixed(1)},${sy(r[metric]).toFixed(1)}`).join(" ");
      chart.append(svg("path", { d, class: "curve", stroke: f.colour, "data-run": name, "data-points": rows.length }));
    }
  }
  $("chart").replaceChildren(chart);
  $("chart-legend").replaceChildren(...series.map(([name, f, rows]) => {
    const li = document.createElement("li");
    li.innerHTML = '<span class="swatch"></span><span></span>';
    li.firstChild.style.background = f.colour;
    const last = rows.at(-1);
    li.lastChild.textContent = `${name}: ${rows.length} epochs${last ? `, last ${metric} ${Number(last[metric]).toPrecision(4)}` : ""}`;
    return li;
  }));
}

function follow(name, on) {
  if (!on) {
    followed.get(name)?.source.close();
    followed.delete(name);
    draw();
    return true;
  }
  if (followed.size >= MAX_FOLLOWED) { showError(`at most ${MAX_FOLLOWED} runs on one chart`); return false; }
  const used = new Set([...followed.values()].map((f) => f.colour));
  const colour = COLOURS.find((c) => !used.has(c)) || COLOURS[0];
  const source = new EventSource(`/api/runs/stream?run=${encodeURIComponent(name)}`);
  const entry = { rows: [], source, colour };
  followed.set(name, entry);
  source.addEventListener("row", (e) => { entry.rows.push(JSON.parse(e.data)); draw(); });
  source.addEventListener("reset", (e) => { entry.rows = JSON.parse(e.data); draw(); });
  source.addEventListener("error", (e) => { if (e.data) showError(JSON.parse(e.data)); });
  draw();
  return true;
}

function showError(message) { $("error").textContent = message; $("error").hidden = false; }

function markdownTable(lines) {
  const t = document.createElement("table");
  lines.filter((l) => !/^\|\s*-/.test(l)).forEach((l, i) => {
    const tr = t.insertRow();
    for (const cell of l.trim().replace(/^\||\|$/g, "").split("|")) {
      const c = document.createElement(i ? "td" : "th");
      c.textContent = cell.trim();
      tr.append(c);
    }
  });
  return t;
}

function study(s) {
  const box = document.createElement("article");
  box.className = "study";
  const h = document.createElement("h3");
  h.textContent = s.name;
  box.append(h);
  const lines = s.results_md.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith("|")) continue;
    let j = i;
    while (j < lines.length && lines[j].startsWith("|")) j++;
    box.append(markdownTable(lines.slice(i, j)));
    i = j;
  }
  for (const name of s.figures) {
    const img = new Image();
    img.src = `/api/runs/figure?${new URLSearchParams({ study: s.name, name })}`;
    img.alt = `${s.name}: ${name}`;
    box.append(img);
  }
  return box;
}

async function start() {
  const response = await fetch("/api/runs");
  const data = await response.json();
  if (!response.ok) { showError(data.error); return; }
  $("root").textContent = `Runs in ${data.root}`;
  $("runs-list").replaceChildren(...data.runs.map((r) => {
    const li = document.createElement("li");
    const label = document.createElement("label");
    const box = Object.assign(document.createElement("input"), { type: "checkbox" });
    box.dataset.run = r.name;
    box.addEventListener("change", () => { if (!follow(r.name, box.checked)) box.checked = false; });
    const what = [r.model, r.data].filter(Boolean).join(" on ");
    const done = r.total_epochs ? `${r.epochs}/${r.total_epochs} epochs` : `${r.epochs} epochs`;
    label.append(box, ` ${r.name} `, Object.assign(document.createElement("span"), { className: "thin", textContent: `${what} · ${done}${r.finished ? "" : " · training?"}` }));
    li.append(label);
    return li;
  }));
  if (!data.runs.length) $("runs-list").textContent = "No runs in this folder.";
  $("studies").replaceChildren(...data.studies.map(study));
  if (!data.studies.length) $("studies-panel").hidden = true;
  $("metric").addEventListener("change", draw);
  const first = $("runs-list").querySelector("input");
  if (first) { first.checked = true; follow(first.dataset.run, true); }
  document.body.dataset.ready = "true";
}

start().catch((err) => showError(`cannot reach the server: ${err.message || err}`));
