"use strict";
// The demo page: draw (pointer events: mouse, touch, pen) or upload, and show what the server's
// network answers. Plain JS, no build step, nothing fetched from outside this server.

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
const answerEl = document.getElementById("answer");
const barsEl = document.getElementById("bars");
const mapsEl = document.getElementById("maps");
const seen = document.getElementById("input28").getContext("2d");
const errorEl = document.getElementById("error");
const BRUSH = pad.width / 14; // 20 px on the 280-px pad: a digit filling the pad gets MNIST's stroke
const THROTTLE_MS = 80; // at most one prediction per this while drawing

const TEXT = {
  digits: ["Draw a digit", "Mouse, finger or pen. Any size, anywhere: the picture is cropped, scaled to a " +
           "20-pixel box and centred by its centre of mass, as MNIST was made."],
  fashion: ["Upload a garment", "A photo of a shirt, shoe or bag on a light background (PNG or JPEG), or " +
            "draw one. It is trimmed, scaled to 28 pixels and centred, as Fashion-MNIST was made."],
};

let mode = "digits";
let classes = {};
let drawing = false;
let last = null;
let inked = false;
let upload = null; // the uploaded file while the pad shows it unchanged
let version = 0; // bumps on every change of the picture
let shown = -1; // the version whose answer is on screen
let inFlight = false;
let timer = null;

function setState(state) { answerEl.dataset.state = state; }

function clearPad() {
  ctx.fillStyle = "white";
  ctx.fillRect(0, 0, pad.width, pad.height);
  inked = false;
  upload = null;
  version += 1;
  shown = version;
  answerEl.textContent = "answer: –";
  answerEl.dataset.answer = "";
  setState("empty");
  renderBars(new Array((classes[mode] || []).length).fill(0), -1);
  seen.clearRect(0, 0, 28, 28);
  mapsEl.replaceChildren();
}

function point(e) {
  const r = pad.getBoundingClientRect();
  return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
}

function stroke(from, to) {
  ctx.strokeStyle = "black";
  ctx.lineWidth = BRUSH;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(from[0], from[1]);
  ctx.lineTo(to[0], to[1]);
  ctx.stroke();
}

function changed() {
  inked = true;
  upload = null;
  version += 1;
  setState("busy");
  schedule();
}

function schedule() {
  if (timer === null && !inFlight) timer = setTimeout(() => { timer = null; send(); }, THROTTLE_MS);
}

pad.addEventListener("pointerdown", (e) => {
  e.preventDefault();
  pad.setPointerCapture(e.pointerId);
  drawing = true;
  last = point(e);
  stroke(last, last);
  changed();
});

pad.addEventListener("pointermove", (e) => {
  if (!drawing) return;
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
  for (const ev of events.length ? events : [e]) {
    const p = point(ev);
    stroke(last, p);
    last = p;
  }
  changed();
});

for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
  pad.addEventListener(type, () => { drawing = false; });
}

document.getElementById("clear").addEventListener("click", clearPad);

document.getElementById("upload").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  e.target.value = "";
  if (!file) return;
  try {
    const bitmap = await createImageBitmap(file);
    clearPad();
    const scale = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
    const w = bitmap.width * scale, h = bitmap.height * scale;
    ctx.drawImage(bitmap, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
  } catch (err) {
    showError(`cannot show ${file.name}; sending it anyway`);
  }
  inked = true;
  upload = file; // the server gets the original file, not the pad's copy
  version += 1;
  setState("busy");
  schedule();
});

async function body() {
  if (upload) {
    const form = new FormData();
    form.append("image", upload);
    return form;
  }
  return await new Promise((resolve) => pad.toBlob(resolve, "image/png"));
}

async function send() {
  if (!inked) return;
  inFlight = true;
  const sent = version;
  const sentMode = mode;
  try {
    const payload = await body();
    const headers = payload instanceof Blob ? { "Content-Type": "image/png" } : {};
    const response = await fetch(`/api/predict?mode=${encodeURIComponent(sentMode)}`,
                                 { method: "POST", body: payload, headers });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || response.statusText);
    if (sentMode === mode && sent >= shown && inked) {
      shown = sent;
      render(data);
    }
    hideError();
  } catch (err) {
    showError(String(err.message || err));
  } finally {
    inFlight = false;
    if (version !== shown && inked) schedule();
    else if (inked) setState("done");
  }
}

function render(data) {
  answerEl.textContent = data.empty ? "answer: –" : `answer: ${data.answer}`;
  answerEl.dataset.answer = data.empty ? "" : data.answer;
  renderBars(data.probabilities, data.empty ? -1 : data.index);
  const pixels = seen.createImageData(28, 28);
  data.input28.flat().forEach((v, i) => {
    pixels.data.set([v, v, v, 255], 4 * i);
  });
  seen.putImageData(pixels, 0, 0);
  mapsEl.replaceChildren(...data.feature_maps.map(layerFigure));
}

function renderBars(probabilities, best) {
  const names = classes[mode] || [];
  if (barsEl.dataset.mode !== mode) { // each mode has its own class names
    barsEl.dataset.mode = mode;
    barsEl.replaceChildren(...names.map((name) => {
      const li = document.createElement("li");
      li.innerHTML = '<span class="name"></span><span class="track"><span class="fill"></span></span>' +
                     '<span class="pct"></span>';
      li.querySelector(".name").textContent = name;
      return li;
    }));
  }
  [...barsEl.children].forEach((li, i) => {
    const p = probabilities[i] || 0;
    li.classList.toggle("best", i === best);
    li.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
    li.querySelector(".pct").textContent = `${(100 * p).toFixed(1)}%`;
  });
}

function layerFigure(layer) {
  const figure = document.createElement("figure");
  const img = new Image();
  img.src = layer.png;
  img.alt = `feature maps of layer ${layer.layer}`;
  const gridWidth = layer.cols * (layer.width + 1) - 1;
  img.width = Math.round(gridWidth * Math.min(4, 300 / gridWidth)); // about 300 px wide, pixels kept sharp
  const caption = document.createElement("figcaption");
  const cut = layer.shown < layer.channels ? ` (first ${layer.shown})` : "";
  caption.textContent = `layer ${layer.layer}: ${layer.channels} maps of ${layer.height}×${layer.width}${cut}`;
  figure.append(img, caption);
  return figure;
}

function showError(message) { errorEl.textContent = message; errorEl.hidden = false; }
function hideError() { errorEl.hidden = true; }

function describe(card) {
  const model = typeof card.model === "object" ? card.model.name : card.model;
  const data = typeof card.data === "object" ? card.data.name : card.data;
  const acc = card.held_out_accuracy ?? card.test_acc;
  const parts = [`model ${model}`, `trained on ${data}`];
  if (card.parameters) parts.push(`${card.parameters.toLocaleString("en")} parameters`);
  if (acc != null) parts.push(`held-out accuracy ${(100 * acc).toFixed(2)}%`);
  if (card.held_out) parts.push(card.held_out);
  return parts.join(" · ");
}

async function selectMode(next) {
  mode = next;
  for (const b of document.querySelectorAll("#modes button")) {
    b.setAttribute("aria-selected", String(b.dataset.mode === mode));
  }
  const [title, hint] = TEXT[mode] || [`Draw or upload (${mode})`, ""];
  document.getElementById("input-title").textContent = title;
  document.getElementById("hint").textContent = hint;
  const response = await fetch(`/api/model?mode=${encodeURIComponent(mode)}`);
  const info = await response.json();
  if (!response.ok) { showError(info.error); return; }
  classes[mode] = info.classes;
  document.getElementById("card").textContent = describe(info.card);
  clearPad();
}

async function start() {
  const health = await (await fetch("/api/health")).json();
  const nav = document.getElementById("modes");
  for (const m of health.modes) {
    if (!nav.querySelector(`[data-mode="${m}"]`)) {
      const b = document.createElement("button");
      Object.assign(b, { type: "button", textContent: m });
      b.dataset.mode = m;
      b.setAttribute("role", "tab");
      nav.append(b);
    }
  }
  for (const b of document.querySelectorAll("#modes button")) {
    b.disabled = !health.modes.includes(b.dataset.mode);
    b.addEventListener("click", () => { if (b.dataset.mode !== mode) selectMode(b.dataset.mode); });
  }
  await selectMode(health.default_mode);
  document.body.dataset.ready = "true";
}

start().catch((err) => showError(`cannot reach the server: ${err.message || err}`));
