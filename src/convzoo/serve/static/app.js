"use strict";
// The demo page: pick a model, draw (pointer events: mouse, touch, pen), upload or pick an example,
// and show what the server's network answers. Plain JS, no build step, nothing fetched from outside.

const pad = document.getElementById("pad");
const scene = document.getElementById("scene");
const answerEl = document.getElementById("answer");
const barsEl = document.getElementById("bars");
const mapsEl = document.getElementById("maps");
const seenCanvas = document.getElementById("input28");
const errorEl = document.getElementById("error");
const overlay = document.getElementById("overlay");
const THROTTLE_MS = 80; // at most one prediction per this while drawing
const SCENE_SCALE = 5; // the wide canvas is sent at 1/5: a digit drawn 100 px tall arrives MNIST-sized

const TEXT = {
  draw: ["Draw a digit", "Mouse, finger or pen. Any size, anywhere: the picture is cropped, scaled and " +
         "centred as the model's training data was made."],
  upload: ["Upload a picture", "A photo on a light background (PNG or JPEG), an example below, or draw one. " +
           "It is prepared as the model's training data was made."],
  scene: ["Draw several digits", "Write a few digits side by side on the wide canvas: every pixel gets a " +
          "label, shown in colour over your drawing."],
};

const state = { model: null, info: null, widget: "draw", inked: false, upload: null, version: 0, shown: -1,
                inFlight: false, timer: null, drawing: false, last: null, blob: null };
window.demo = state; // graph.js reads the current picture and model from here

function surface() { return state.widget === "scene" ? scene : pad; }
function brush() { return state.widget === "scene" ? 14 : pad.width / 14; }
function setState(s) { answerEl.dataset.state = s; }

function clearPad() {
  for (const c of [pad, scene]) {
    const ctx = c.getContext("2d");
    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, c.width, c.height);
  }
  Object.assign(state, { inked: false, upload: null, blob: null });
  state.version += 1;
  state.shown = state.version;
  answerEl.textContent = "answer: –";
  answerEl.dataset.answer = "";
  setState("empty");
  renderBars(new Array((state.info?.classes || []).length).fill(0), -1);
  seenCanvas.getContext("2d").clearRect(0, 0, seenCanvas.width, seenCanvas.height);
  mapsEl.replaceChildren();
  overlay.hidden = true;
  document.getElementById("legend").replaceChildren();
}

function point(c, e) {
  const r = c.getBoundingClientRect();
  return [(e.clientX - r.left) * c.width / r.width, (e.clientY - r.top) * c.height / r.height];
}

function stroke(c, from, to) {
  const ctx = c.getContext("2d");
  Object.assign(ctx, { strokeStyle: "black", lineWidth: brush(), lineCap: "round", lineJoin: "round" });
  ctx.beginPath();
  ctx.moveTo(from[0], from[1]);
  ctx.lineTo(to[0], to[1]);
  ctx.stroke();
}

function changed() {
  Object.assign(state, { inked: true, upload: null });
  state.version += 1;
  setState("busy");
  schedule();
}

function schedule() {
  if (state.timer === null && !state.inFlight) {
    state.timer = setTimeout(() => { state.timer = null; send(); }, THROTTLE_MS);
  }
}

for (const c of [pad, scene]) {
  c.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    c.setPointerCapture(e.pointerId);
    state.drawing = true;
    state.last = point(c, e);
    stroke(c, state.last, state.last);
    changed();
  });
  c.addEventListener("pointermove", (e) => {
    if (!state.drawing) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    for (const ev of events.length ? events : [e]) {
      const p = point(c, ev);
      stroke(c, state.last, p);
      state.last = p;
    }
    changed();
  });
  for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
    c.addEventListener(type, () => { state.drawing = false; });
  }
}

document.getElementById("clear").addEventListener("click", clearPad);
const uploadLabel = document.querySelector("label.upload");
uploadLabel.addEventListener("keydown", (e) => {
  if (e.key === "Enter" || e.key === " ") { e.preventDefault(); document.getElementById("upload").click(); }
});

async function showPicture(file) {
  clearPad();
  try {
    const bitmap = await createImageBitmap(file);
    const c = surface();
    const scale = Math.min(c.width / bitmap.width, c.height / bitmap.height);
    const w = bitmap.width * scale, h = bitmap.height * scale;
    c.getContext("2d").drawImage(bitmap, (c.width - w) / 2, (c.height - h) / 2, w, h);
  } catch (err) {
    showError(`cannot show ${file.name || "the picture"}; sending it anyway`);
  }
  Object.assign(state, { inked: true, upload: file }); // the server gets the original file
  state.version += 1;
  setState("busy");
  schedule();
}

document.getElementById("upload").addEventListener("change", (e) => {
  const file = e.target.files[0];
  e.target.value = "";
  if (file) showPicture(file);
});

async function picture() {
  if (state.upload) return state.upload;
  if (state.widget !== "scene") return await new Promise((resolve) => pad.toBlob(resolve, "image/png"));
  const small = document.createElement("canvas");
  small.width = scene.width / SCENE_SCALE;
  small.height = scene.height / SCENE_SCALE;
  const ctx = small.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(scene, 0, 0, small.width, small.height);
  return await new Promise((resolve) => small.toBlob(resolve, "image/png"));
}

async function send() {
  if (!state.inked) return;
  state.inFlight = true;
  const sent = state.version, model = state.model;
  try {
    const blob = await picture();
    const form = new FormData();
    form.append("image", blob, "picture.png");
    const response = await fetch(`/api/predict?model=${encodeURIComponent(model)}`, { method: "POST", body: form });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || response.statusText);
    if (model === state.model && sent >= state.shown && state.inked) {
      state.shown = sent;
      state.blob = blob;
      render(data);
      window.graphView?.refresh();
    }
    hideError();
  } catch (err) {
    showError(String(err.message || err));
  } finally {
    state.inFlight = false;
    if (state.version !== state.shown && state.inked) schedule();
    else if (state.inked) setState("done");
  }
}

function render(data) {
  if (data.task === "segmentation") return renderScene(data);
  answerEl.textContent = data.empty ? "answer: –" : `answer: ${data.answer}`;
  answerEl.dataset.answer = data.empty ? "" : data.answer;
  renderBars(data.probabilities, data.empty ? -1 : data.index);
  const img = new Image();
  img.onload = () => {
    Object.assign(seenCanvas, { width: img.width, height: img.height });
    seenCanvas.getContext("2d").drawImage(img, 0, 0);
  };
  img.src = data.input28_png;
  mapsEl.replaceChildren(...data.feature_maps.map(layerFigure));
}

function renderScene(data) {
  overlay.src = data.overlay_png;
  overlay.hidden = false;
  answerEl.textContent = data.found.length ? `found: ${data.found.join(" ")}` : "found: –";
  answerEl.dataset.answer = data.found.join(" ");
  const legend = document.getElementById("legend");
  legend.replaceChildren(...data.classes.map((name, i) => [name, i]).filter(([name]) => data.pixels[name])
    .map(([name, i]) => {
      const li = document.createElement("li");
      li.innerHTML = '<span class="swatch"></span><span></span>';
      li.firstChild.style.background = data.colours[i];
      li.lastChild.textContent = `${name}: ${data.pixels[name]} px`;
      return li;
    }));
}

function renderBars(probabilities, best) {
  const names = state.info?.classes || [];
  if (barsEl.dataset.model !== state.model) { // each model has its own class names
    barsEl.dataset.model = state.model;
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
  caption.textContent = `${layer.layer} (${layer.module}): ${layer.channels} maps of ${layer.height}×${layer.width}${cut}`;
  figure.append(img, caption);
  return figure;
}

function showError(message) { errorEl.textContent = message; errorEl.hidden = false; }
function hideError() { errorEl.hidden = true; }
window.showError = showError;

function describe(card) {
  if (card.in_memory) {  // convzoo.explore: a module in memory, trained or not
    return [`model ${card.model} in memory (its weights as they are now)`, card.reads,
            `${card.parameters.toLocaleString("en")} parameters`].join(" · ");
  }
  const model = typeof card.model === "object" ? card.model.name : card.model;
  const data = typeof card.data === "object" ? card.data.name : card.data;
  const acc = card.held_out_accuracy ?? card.test_acc;
  const parts = [`model ${model}`, `trained on ${data}`];
  if (card.parameters) parts.push(`${card.parameters.toLocaleString("en")} parameters`);
  if (acc != null) parts.push(`held-out accuracy ${(100 * acc).toFixed(2)}%`);
  if (card.held_out) parts.push(card.held_out);
  return parts.join(" · ");
}

async function loadExamples() {
  const box = document.getElementById("examples");
  box.replaceChildren();
  if (state.widget === "scene") return;
  const response = await fetch(`/api/examples?model=${encodeURIComponent(state.model)}`);
  const data = await response.json();
  for (const ex of data.examples || []) {
    const b = document.createElement("button");
    b.type = "button";
    b.setAttribute("aria-label", `example: ${ex.label}`);
    b.innerHTML = '<img alt="">';
    b.firstChild.src = ex.png;
    b.addEventListener("click", async () => showPicture(await (await fetch(ex.png)).blob()));
    box.append(b);
  }
}

async function selectModel(key) {
  state.model = key;
  document.getElementById("model").value = key;
  document.body.dataset.ready = "";
  const response = await fetch(`/api/model?model=${encodeURIComponent(key)}`);
  const info = await response.json();
  if (!response.ok) { showError(`cannot load ${key}: ${info.error}`); return; }
  hideError();
  state.info = info;
  state.widget = info.widget;
  const [title, hint] = TEXT[info.widget];
  document.getElementById("input-title").textContent = title;
  document.getElementById("hint").textContent = hint;
  document.getElementById("pad-box").hidden = info.widget === "scene";
  document.getElementById("scene-box").hidden = info.widget !== "scene";
  for (const id of ["bars", "saw", "maps-panel"]) document.getElementById(id).hidden = info.widget === "scene";
  document.getElementById("legend").hidden = info.widget !== "scene";
  document.getElementById("card").textContent = describe(info.card);
  clearPad();
  await Promise.all([loadExamples(), window.graphView?.load(key)]);
  document.body.dataset.ready = "true";
}

async function start() {
  const data = await (await fetch("/api/models")).json();
  const select = document.getElementById("model");
  for (const m of data.models) select.append(new Option(m.label, m.key));
  select.addEventListener("change", () => selectModel(select.value));
  await selectModel(data.default_model);
}

start().catch((err) => showError(`cannot reach the server: ${err.message || err}`));
