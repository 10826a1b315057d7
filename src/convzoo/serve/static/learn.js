"use strict";
// The worked-examples page: sliders -> GET /api/corr2d (computed by convzoo.reference) -> grids,
// and a step-through of every output number: its window, the products and the sum.

const ids = ["padding", "stride-h", "stride-w", "channels"];
const $ = (id) => document.getElementById(id);
let data = null, step = 0, timer = null;

function table(rows, mark = () => "") {
  const t = document.createElement("table");
  t.className = "nums big";
  rows.forEach((r, i) => {
    const tr = t.insertRow();
    r.forEach((v, j) => {
      const td = tr.insertCell();
      td.textContent = Number.isInteger(v) ? v : v.toFixed(2);
      const cls = mark(i, j);
      if (cls) td.className = cls;
    });
  });
  return t;
}

async function load(example, settings = {}) {
  const q = new URLSearchParams({ example, ...settings });
  const response = await fetch(`/api/corr2d?${q}`);
  const body = await response.json();
  if (!response.ok) { $("error").textContent = body.error; $("error").hidden = false; return; }
  $("error").hidden = true;
  data = body;
  step = 0;
  const select = $("example");
  if (!select.options.length) {
    for (const [name, title] of Object.entries(data.examples)) select.append(new Option(title, name));
  }
  select.value = data.example;
  const values = { padding: data.padding, "stride-h": data.stride[0], "stride-w": data.stride[1], channels: data.channels };
  for (const id of ids) { $(id).value = values[id]; $(`${id}-value`).textContent = values[id]; }
  $("title").textContent = data.title;
  render();
}

function render() {
  const s = data.steps[step];
  const [kh, kw] = [data.kernel[0].length, data.kernel[0][0].length];
  const p = data.padding;
  const inWindow = (i, j) => i >= s.origin[0] && i < s.origin[0] + kh && j >= s.origin[1] && j < s.origin[1] + kw;
  $("inputs").replaceChildren(...data.padded.map((grid) => table(grid, (i, j) => {
    const pad = i < p || j < p || i >= grid.length - p || j >= grid[0].length - p;
    return [pad ? "pad" : "", inWindow(i, j) ? "window" : ""].join(" ").trim();
  })));
  $("kernels").replaceChildren(...data.kernel.map((k) => table(k)));
  $("outputs").replaceChildren(table(data.output, (i, j) => (i === s.out[0] && j === s.out[1] ? "window" : "")));
  $("outputs").dataset.output = JSON.stringify(data.output);
  const parts = s.channel_sums.map((v, c) => {
    const terms = s.products[c].flat().map((x) => (Number.isInteger(x) ? x : x.toFixed(2)));
    return `channel ${c + 1}: ${terms.join(" + ")} = ${v}`;
  });
  $("step-text").textContent = `output (${s.out[0]}, ${s.out[1]}), step ${step + 1} of ${data.steps.length}: ` +
    `${parts.join("; ")}${s.channel_sums.length > 1 ? ` → total ${s.value}` : ""}`;
  $("step-text").dataset.value = s.value;
  $("step-text").dataset.step = step;
}

function move(by) { if (data) { step = (step + by + data.steps.length) % data.steps.length; render(); } }

$("step-next").addEventListener("click", () => move(1));
$("step-prev").addEventListener("click", () => move(-1));
$("step-play").addEventListener("click", () => {
  if (timer) { clearInterval(timer); timer = null; $("step-play").textContent = "play"; return; }
  $("step-play").textContent = "pause";
  timer = setInterval(() => move(1), 900);
});
$("example").addEventListener("change", () => load($("example").value));
for (const id of ids) {
  $(id).addEventListener("input", () => {
    load($("example").value, { padding: $("padding").value, stride_h: $("stride-h").value,
                               stride_w: $("stride-w").value, channels: $("channels").value });
  });
}

load("corr2d").then(() => { document.body.dataset.ready = "true"; });
