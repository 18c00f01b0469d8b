// The tagging page: asks POST /tag for JSON lines, draws each document's text with its
// entities as <mark class="entity"> elements (nested where entities overlap), and re-asks
// for the chosen output format to download. Plain JavaScript, nothing fetched but this service.
"use strict";

// Light colours that keep black text readable; a type keeps its colour for the page's life.
const PALETTE = ["#ffd8a8", "#b2f2bb", "#a5d8ff", "#ffc9c9", "#d0bfff", "#fcc2d7",
                 "#99e9f2", "#ffec99", "#c0eb75", "#eebefa", "#e9ecef", "#96f2d7"];
const colours = new Map();
let modelTasks = [];
let lastRequest = null;   // {body, contentType, query}: what the download asks again

const $ = (id) => document.getElementById(id);

function colourOf(type) {
  if (!colours.has(type)) colours.set(type, PALETTE[colours.size % PALETTE.length]);
  return colours.get(type);
}

function status(message, isError) {
  $("status").textContent = message;
  $("status").classList.toggle("error", Boolean(isError));
}

async function loadModel() {
  const response = await fetch("model");
  const model = await response.json();
  // Tagger.describe(): {"tasks": {task: {"types": [...]}}, "selected": [the tasks it runs],
  // "encoder": {...}, ...}
  const tasks = model.tasks || {};
  modelTasks = model.selected || Object.keys(tasks);
  for (const task of modelTasks) {
    for (const type of (tasks[task] && tasks[task].types) || []) colourOf(type);
  }
  const encoder = model.encoder || {};
  $("model").textContent = `${encoder.name || "model"} · ${model.precision || ""} · tasks: ` +
    modelTasks.join(", ");
  const fieldset = $("tasks");
  for (const task of modelTasks) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = true;
    box.value = task;
    box.className = "task-toggle";
    box.addEventListener("change", applyToggles);
    label.append(box, " " + task);
    fieldset.append(label);
  }
}

function checkedTasks() {
  return [...document.querySelectorAll(".task-toggle")].filter((b) => b.checked)
    .map((b) => b.value);
}

function applyToggles() {
  const on = new Set(checkedTasks());
  for (const mark of document.querySelectorAll("mark.entity")) {
    const tasks = mark.dataset.tasks.split(",");
    mark.classList.toggle("off", !tasks.some((t) => on.has(t)));
  }
}

// The request of the page's input: the chosen file as it is (its format detected by the
// service), else the text as a JSON request.
async function currentRequest() {
  const file = $("file").files[0];
  const query = new URLSearchParams({merge: $("merge").value});
  if (file) {
    query.set("input_format", "auto");
    return {body: await file.arrayBuffer(), contentType: "application/octet-stream", query};
  }
  return {body: JSON.stringify({text: $("text").value}), contentType: "application/json", query};
}

async function post(request, format, tasks) {
  const query = new URLSearchParams(request.query);
  query.set("format", format);
  if (tasks && tasks.length < modelTasks.length) query.set("tasks", tasks.join(","));
  const response = await fetch("tag?" + query, {
    method: "POST", headers: {"Content-Type": request.contentType}, body: request.body,
  });
  if (!response.ok) {
    let reason = response.statusText;
    try { reason = (await response.json()).error; } catch (e) { /* not JSON */ }
    throw new Error(`${response.status}: ${reason}`);
  }
  return response;
}

async function tag() {
  $("tag").disabled = true;
  status("Tagging…");
  try {
    const request = await currentRequest();
    const response = await post(request, "json");
    const lines = (await response.text()).split("\n").filter((line) => line);
    const records = lines.map((line) => JSON.parse(line));
    lastRequest = request;
    show(records);
    const count = records.reduce((n, r) => n + r.entities.length, 0);
    status(`${count} entities in ${records.length} document${records.length === 1 ? "" : "s"}`);
  } catch (error) {
    status(error.message, true);
  } finally {
    $("tag").disabled = false;
  }
}

function show(records) {
  const result = $("result");
  result.replaceChildren();
  const seen = new Map();
  records.forEach((record, i) => {
    const section = document.createElement("section");
    section.className = "document";
    const heading = document.createElement("h2");
    heading.textContent = record.id ? `Document ${record.id}` : `Document ${i + 1}`;
    const text = document.createElement("p");
    text.className = "text";
    text.append(drawText(record.text, record.entities, i));
    section.append(heading, text);
    result.append(section);
    for (const entity of record.entities) seen.set(entity.type, (seen.get(entity.type) || 0) + 1);
  });
  drawLegend(seen);
  $("controls").hidden = false;
  applyToggles();
}

function drawLegend(seen) {
  const legend = $("legend");
  legend.replaceChildren();
  for (const [type, colour] of colours) {
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colour;
    swatch.dataset.type = type;
    swatch.textContent = `${type} (${seen.get(type) || 0})`;
    legend.append(swatch);
  }
}

// The text with one <mark> per entity. Entities nest when one holds another; an entity that
// crosses the end of the one it starts in is cut there and continued outside (its pieces share
// data-entity), so every character of an entity is inside one of its marks.
function drawText(text, entities, documentIndex) {
  const root = document.createDocumentFragment();
  const before = (a, b) => a.start - b.start || b.end - a.end;
  const pending = entities.map((entity, k) => ({entity, k, start: entity.start, end: entity.end}))
    .sort(before);
  const stack = [{node: root, end: Infinity}];
  let position = 0;
  const flushTo = (end) => {
    if (end > position) stack[stack.length - 1].node.append(text.slice(position, end));
    position = Math.max(position, end);
  };
  const close = () => { flushTo(stack[stack.length - 1].end); stack.pop(); };
  while (pending.length) {
    let piece = pending.shift();
    while (stack.length > 1 && stack[stack.length - 1].end <= piece.start) close();
    flushTo(piece.start);
    const top = stack[stack.length - 1];
    if (piece.end > top.end) {
      const rest = {...piece, start: top.end};
      const at = pending.findIndex((other) => before(rest, other) < 0);
      pending.splice(at < 0 ? pending.length : at, 0, rest);
      piece = {...piece, end: top.end};
    }
    const mark = entityMark(piece.entity, `${documentIndex}.${piece.k}`);
    top.node.append(mark);
    stack.push({node: mark, end: piece.end});
  }
  while (stack.length > 1) close();
  flushTo(text.length);
  return root;
}

function entityMark(entity, key) {
  const mark = document.createElement("mark");
  const tasks = entity.tasks || [entity.task];
  mark.className = "entity";
  mark.style.background = colourOf(entity.type);
  mark.dataset.entity = key;
  mark.dataset.type = entity.type;
  mark.dataset.task = entity.task;
  mark.dataset.tasks = tasks.join(",");
  mark.dataset.score = entity.score;
  mark.dataset.start = entity.start;
  mark.dataset.end = entity.end;
  mark.title = `${entity.type} · task ${tasks.join(", ")} · score ${entity.score.toFixed(3)}`;
  return mark;
}

async function download() {
  if (!lastRequest) return;
  const format = $("format").value;
  if (!checkedTasks().length) return status("Tick at least one task to download.", true);
  try {
    const response = await post(lastRequest, format, checkedTasks());
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    const extension = {json: "jsonl", conll: "conll", pubtator: "pubtator",
                       "bioc-xml": "xml", "bioc-json": "json"}[format];
    link.href = url;
    link.download = `entities.${extension}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (error) {
    status(error.message, true);
  }
}

$("tag").addEventListener("click", tag);
$("download").addEventListener("click", download);
$("clear-file").addEventListener("click", () => { $("file").value = ""; });
loadModel().catch((error) => status(`Cannot read the model: ${error.message}`, true));
