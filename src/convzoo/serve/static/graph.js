"use strict";
// The layer graph (plain SVG) and the node panel: a node's output maps for the current picture,
// its filters, the saliency map, a unit's receptive field and a conv unit's multiply-and-sum,
// animated over its neighbours. Reads the current picture and model from window.demo (app.js).

const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 132, NODE_H = 38, COL = 150, ROW = 62;
const STEP_MS = 1200; // one neighbouring unit per this, in the animation

function fmt(n) {
  if (n >= 1e9) return `${(n / 1e9).toPrecision(3)}G`;
  if (n >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (n >= 1e3) return `${(n / 1e3).toPrecision(3)}K`;
  return String(n);
}
const shapeText = (s) => (s ? s.join("×") : "–");

function el(name, attrs = {}, text = null) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== null) e.textContent = text;
  return e;
}

const graphView = {
  data: null, node: null, unit: null, timer: null,

  async load(key) {
    this.stop();
    Object.assign(this, { node: null, unit: null, data: null });
    const box = document.getElementById("graph");
    box.replaceChildren(document.createTextNode("tracing the network…"));
    document.getElementById("node").innerHTML = '<p class="hint">No node selected.</p>';
    const response = await fetch(`/api/graph?model=${encodeURIComponent(key)}`);
    const data = await response.json();
    if (!response.ok) { box.textContent = `no graph: ${data.error}`; return; }
    if (window.demo.model !== key) return;
    this.data = data;
    this.draw(box, data);
  },

  draw(box, data) {
    const ranks = Math.max(...data.nodes.map((n) => n.rank)) + 1;
    const half = Math.max(...data.nodes.map((n) => Math.abs(n.column)));
    const width = (2 * half + 1) * COL + 20, cx = width / 2;
    const pos = {};
    for (const n of data.nodes) pos[n.id] = [cx + n.column * COL, 16 + n.rank * ROW];
    const svg = el("svg", { width, height: ranks * ROW + 20, role: "group", "aria-label": `${data.nodes.length} nodes` });
    for (const e of data.edges) {
      const [x1, y1] = pos[e.source], [x2, y2] = pos[e.target];
      const ya = y1 + NODE_H, my = (ya + y2) / 2;
      svg.append(el("path", { d: `M${x1},${ya} C${x1},${my} ${x2},${my} ${x2},${y2}`, class: "edge" }));
      svg.append(el("text", { x: (x1 + x2) / 2 + 4, y: my + 3, class: "edge-label" }, shapeText(e.shape)));
    }
    for (const n of data.nodes) {
      const [x, y] = pos[n.id];
      const g = el("g", { class: `node kind-${n.kind}`, transform: `translate(${x - NODE_W / 2},${y})`,
                          tabindex: "0", role: "button", "data-id": n.id,
                          "aria-label": `${n.label} ${n.type}, output ${shapeText(n.shape)}` });
      g.append(el("rect", { width: NODE_W, height: NODE_H, rx: 6 }));
      const name = n.members > 1 ? `${n.label} (${n.members} layers)` : n.kind === "input" || n.kind === "output" ? n.label : `${n.type} ${n.label}`;
      g.append(el("text", { x: 6, y: 15, class: "node-name" }, name.length > 22 ? `${name.slice(0, 21)}…` : name));
      const cost = n.params || n.macs ? ` · ${fmt(n.params)} p · ${fmt(n.macs)} MAC` : "";
      g.append(el("text", { x: 6, y: 30, class: "node-shape" }, shapeText(n.shape) + cost));
      g.append(el("title", {}, `${n.label} (${n.type})\noutput ${shapeText(n.shape)}\nparameters ${n.params.toLocaleString("en")}\nMACs ${n.macs.toLocaleString("en")}`));
      g.addEventListener("click", () => this.select(n.id));
      g.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); this.select(n.id); } });
      svg.append(g);
    }
    const collapsed = data.collapsed ? ` Collapsed: ${data.nodes.length} blocks (the full graph is too large to draw quickly).` : "";
    const note = data.note ? ` Drawn as a chain: ${data.note}.` : collapsed;  // untraceable: module hooks
    box.replaceChildren(svg);
    box.dataset.model = data.model;
    box.dataset.traced = data.traced || "fx";
    document.getElementById("graph-note").dataset.collapsed = String(data.collapsed);
    if (note) box.prepend(Object.assign(document.createElement("p"), { className: "hint graph-chain-note", textContent: note }));
  },

  select(id) {
    this.node = id;
    this.unit = null;
    for (const g of document.querySelectorAll("#graph g.node")) g.classList.toggle("selected", g.dataset.id === id);
    this.refresh();
  },

  async refresh() {
    if (!this.node || !this.data) return;
    const demo = window.demo;
    const panel = document.getElementById("node");
    if (!demo.blob) { panel.innerHTML = '<p class="hint">Draw or upload a picture first: the node panel shows what this layer does with it.</p>'; this.header(panel); return; }
    const q = new URLSearchParams({ model: demo.model, node: this.node });
    if (this.unit) { q.set("c", this.unit[0]); q.set("y", this.unit[1]); q.set("x", this.unit[2]); }
    const form = new FormData();
    form.append("image", demo.blob, "picture.png");
    const response = await fetch(`/api/inspect?${q}`, { method: "POST", body: form });
    const data = await response.json();
    if (!response.ok) { window.showError(data.error); return; }
    if (data.node === this.node) this.show(data);
  },

  header(panel) {
    const n = this.data.nodes.find((m) => m.id === this.node);
    const h = document.createElement("h3");
    h.textContent = `${n.label} · ${n.type}`;
    const p = document.createElement("p");
    p.id = "node-facts";
    p.innerHTML = `output <span id="node-shape"></span> · ${n.params.toLocaleString("en")} parameters · ${n.macs.toLocaleString("en")} MACs`;
    p.querySelector("#node-shape").textContent = shapeText(n.shape);
    panel.prepend(h, p);
  },

  show(data) {
    this.stop();
    const panel = document.getElementById("node");
    panel.replaceChildren();
    this.header(panel);
    panel.dataset.shape = data.shape.join("x");
    if (data.maps) panel.append(this.mapsFigure(data.maps));
    if (data.vector) panel.append(figure(bars(data.vector), `${data.vector.length} values (output ${shapeText(data.shape)})`));
    if (data.filters) panel.append(figure(pixelImage(data.filters.png, 160, "filters"), `filters ${shapeText(data.filters.shape)} (first input channel)`));
    const input = inputCanvas(data);
    panel.append(figure(input, "input · receptive field"));
    panel.append(figure(pixelImage(data.saliency_png, 140, "saliency"), "saliency: |d score / d input|"));
    if (data.unit) this.showUnit(panel, data.unit, input);
  },

  mapsFigure(maps) {
    const img = pixelImage(maps.png, 300, "output maps: click a unit");
    img.id = "node-maps";
    img.tabIndex = 0;
    const pick = (c, y, x) => { this.unit = [c, y, x]; this.refresh(); };
    img.addEventListener("click", (e) => {
      const px = e.offsetX * img.naturalWidth / img.clientWidth, py = e.offsetY * img.naturalHeight / img.clientHeight;
      const col = Math.floor(px / (maps.width + 1)), row = Math.floor(py / (maps.height + 1));
      const c = row * maps.cols + col;
      if (c < maps.shown) pick(c, Math.min(maps.height - 1, Math.floor(py % (maps.height + 1))), Math.min(maps.width - 1, Math.floor(px % (maps.width + 1))));
    });
    img.addEventListener("keydown", (e) => { // arrows move the unit, PageUp/PageDown change the map
      const [c, y, x] = this.unit || [0, 0, 0];
      const moves = { ArrowLeft: [0, 0, -1], ArrowRight: [0, 0, 1], ArrowUp: [0, -1, 0], ArrowDown: [0, 1, 0], PageUp: [-1, 0, 0], PageDown: [1, 0, 0], Enter: [0, 0, 0] };
      const m = moves[e.key];
      if (!m) return;
      e.preventDefault();
      pick(Math.max(0, Math.min(maps.shown - 1, c + m[0])), Math.max(0, Math.min(maps.height - 1, y + m[1])), Math.max(0, Math.min(maps.width - 1, x + m[2])));
    });
    const cut = maps.shown < maps.channels ? ` (first ${maps.shown})` : "";
    return figure(img, `${maps.channels} maps of ${maps.height}×${maps.width}${cut}: click a unit (or arrows)`);
  },

  showUnit(panel, unit, input) {
    const info = document.createElement("p");
    info.id = "unit-info";
    const box = unit.box;
    info.textContent = `unit (map ${unit.unit[0]}, row ${unit.unit[1]}, column ${unit.unit[2]}) = ${unit.value}` +
      (box ? ` · receptive field ${box.size[0]}×${box.size[1]}: rows ${box.top}–${box.bottom}, columns ${box.left}–${box.right}` : " · receptive field: the whole input");
    if (box) { info.dataset.box = [box.top, box.bottom, box.left, box.right].join(","); }
    panel.append(info);
    input.drawBox(box);
    if (!unit.explain) return;
    const host = document.createElement("div");
    host.id = "explain";
    panel.append(host);
    let i = 0;
    const step = () => {
      const ex = unit.explain[i];
      host.replaceChildren(explainTable(ex));
      input.drawBox(unit.neighbour_boxes[i]);
      i = (i + 1) % unit.explain.length;
    };
    step();
    if (unit.explain.length > 1) this.timer = setInterval(step, STEP_MS);
  },

  stop() { if (this.timer) clearInterval(this.timer); this.timer = null; },
};

function figure(content, caption) {
  const f = document.createElement("figure");
  const c = document.createElement("figcaption");
  c.textContent = caption;
  f.append(content, c);
  return f;
}

function pixelImage(src, width, alt) {
  const img = new Image();
  img.src = src;
  img.alt = alt;
  img.className = "pixels";
  img.style.width = `${width}px`;
  return img;
}

function bars(values) {
  const top = Math.max(...values.map(Math.abs)) || 1;
  const svg = el("svg", { width: 300, height: 80, class: "vector" });
  const w = 300 / values.length;
  values.forEach((v, i) => {
    const h = 38 * Math.abs(v) / top;
    svg.append(el("rect", { x: i * w, y: v >= 0 ? 40 - h : 40, width: Math.max(1, w - 1), height: h }));
  });
  return svg;
}

function inputCanvas(data) {
  const [, h, w] = data.input_shape;
  const scale = Math.max(1, Math.floor(168 / Math.max(h, w)));
  const c = Object.assign(document.createElement("canvas"), { width: w * scale, height: h * scale, id: "field" });
  c.setAttribute("aria-label", "the input with the receptive field of the selected unit");
  const ctx = c.getContext("2d");
  const img = new Image();
  let box = null;
  const paint = () => {
    ctx.imageSmoothingEnabled = false;
    if (img.complete) ctx.drawImage(img, 0, 0, c.width, c.height);
    if (box) {
      ctx.strokeStyle = "#ff3b30";
      ctx.lineWidth = 2;
      ctx.strokeRect(box.left * scale, box.top * scale, (box.right - box.left + 1) * scale, (box.bottom - box.top + 1) * scale);
    }
  };
  img.onload = paint;
  img.src = data.input_png;
  c.drawBox = (b) => { box = b; paint(); };
  return c;
}

function grid(rows, cls) {
  const t = document.createElement("table");
  t.className = cls;
  for (const r of rows) {
    const tr = t.insertRow();
    for (const v of r) tr.insertCell().textContent = Number(v).toFixed(Math.abs(v) >= 10 ? 1 : 2);
  }
  return t;
}

function explainTable(ex) {
  const box = document.createElement("div");
  box.className = "explain";
  box.dataset.unit = ex.unit.join(",");
  const row = document.createElement("div");
  row.className = "explain-row";
  row.append(figure(grid(ex.window, "nums"), "input window (channel 1)"), document.createTextNode("×"),
             figure(grid(ex.kernel, "nums"), "kernel (channel 1)"), document.createTextNode("="),
             figure(grid(ex.products, "nums"), `products, sum ${ex.channel_sum}`));
  const total = document.createElement("p");
  total.className = "total";
  const more = ex.input_channels > 1 ? ` + the other ${ex.input_channels - 1} channels' sums` : "";
  total.textContent = `unit (${ex.unit[1]}, ${ex.unit[2]}) of map ${ex.unit[0]}: ${ex.channel_sum}${more} + bias ${ex.bias} = ${ex.total}`;
  total.dataset.total = ex.total;
  box.append(row, total);
  return box;
}

window.graphView = graphView;
