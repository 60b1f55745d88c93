// The page's behaviour: a client of the public API (GET /models, POST /forecast,
// POST /forecast/plot, GET /models/{name}/versions/{v}/plot), nothing else.
"use strict";

const ROOT = document.body.dataset.root || "";
const $ = (id) => document.getElementById(id);
let models = []; // the last GET /models answer's "models"
let csvRows = null; // parsed CSV: {header: [...], rows: [[...], ...], lines: [...]}
// Why the chosen CSV gave no series: said again on submit, instead of "paste the series".
let csvError = null;
let imageUrls = {}; // object URLs to release when replaced

// ---- talking to the API ----

class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function headers(json) {
  const h = {};
  const key = $("api-key").value;
  if (key) h["X-API-Key"] = key;
  if (json) h["Content-Type"] = "application/json";
  return h;
}

async function call(method, path, body) {
  let response;
  try {
    response = await fetch(ROOT + path, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, "unreachable", `could not reach the server (${e.message})`, null);
  }
  if (response.ok) return response;
  let error = null;
  try {
    error = (await response.json()).error;
  } catch (e) {
    // not the service's JSON error shape: reported by its status below
  }
  if (error && typeof error === "object") {
    throw new ApiError(response.status, error.code, error.message, error.details);
  }
  throw new ApiError(response.status, "http_error", `${response.status} ${response.statusText}`, null);
}

// ---- messages ----

function describeDetails(details) {
  if (details === null || details === undefined) return [];
  if (Array.isArray(details.errors)) {
    return details.errors.map((e) => `${(e.loc || []).join(".")}: ${e.msg}`);
  }
  if (typeof details !== "object") return [String(details)];
  return Object.entries(details).map(([k, v]) => {
    const text = Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : String(v);
    return `${k}: ${text.length > 200 ? text.slice(0, 200) + "…" : text}`;
  });
}

function showError(error) {
  const box = $("message");
  box.replaceChildren();
  box.className = "error";
  const title = document.createElement("strong");
  title.textContent = error instanceof ApiError
    ? `${error.status ? error.status + " " : ""}${error.code}: ${error.message}`
    : String(error.message || error);
  box.append(title);
  const lines = error instanceof ApiError ? describeDetails(error.details) : [];
  if (error instanceof ApiError && error.status === 401) {
    lines.push("Type a key the server accepts in the API key field, then try again.");
  }
  if (lines.length) {
    const list = document.createElement("ul");
    for (const line of lines) {
      const item = document.createElement("li");
      item.textContent = line;
      list.append(item);
    }
    box.append(list);
  }
  box.hidden = false;
}

function clearMessage() {
  $("message").hidden = true;
  $("message").replaceChildren();
}

function element(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (className) e.className = className;
  return e;
}

function number(value) {
  if (value === null || value === undefined) return "–";
  return Math.abs(value) >= 1000 ? value.toFixed(0) : value.toPrecision(4);
}

// A method's name as a person reads it; its API name stays in the header's tooltip.
const METHOD_NAMES = {
  model: "This model",
  naive: "Naive",
  moving_average: "Moving average",
  seasonal_naive: "Seasonal naive",
  seasonal_diff_ma: "Seasonal diff. + MA",
  seasonal_diff_ma_smoothed: "Seasonal diff. + MA, smoothed",
  auto_ets: "AutoETS",
  auto_arima: "AutoARIMA",
  auto_theta: "AutoTheta",
  mstl: "MSTL",
};

function methodName(key) {
  if (key in METHOD_NAMES) return METHOD_NAMES[key];
  const words = key.replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// ---- models ----

function methodsOf(list) {
  // Every method any version was scored with: "model" first, then in the order met.
  const seen = ["model"];
  for (const m of list) {
    for (const v of m.versions) {
      const scores = v.metadata && v.metadata.validation ? v.metadata.validation.scores : {};
      for (const k of Object.keys(scores)) if (!seen.includes(k)) seen.push(k);
    }
  }
  return seen;
}

function metricsOf(list) {
  for (const m of list) {
    for (const v of m.versions) {
      const scores = v.metadata && v.metadata.validation ? v.metadata.validation.scores : null;
      if (scores && scores.model) return Object.keys(scores.model);
    }
  }
  return ["mae"];
}

function lowest(scores, methods, metric) {
  let best = null;
  for (const k of methods) {
    const s = scores[k];
    if (!s || s[metric] === null || s[metric] === undefined) continue;
    if (best === null || s[metric] < scores[best][metric]) best = k;
  }
  return best;
}

function renderModels() {
  const holder = $("models");
  holder.replaceChildren();
  if (!models.length) {
    holder.append(element("p", "The store has no models yet.", "hint"));
    return;
  }
  const metric = $("metric").value || "mae";
  const methods = methodsOf(models);
  const table = element("table", null, "models");
  const head = table.createTHead().insertRow();
  for (const h of ["Model", "Version", "State", "Architecture"]) head.append(element("th", h));
  for (const k of methods) {
    const th = element("th", methodName(k), "num method");
    th.title = k === "model" ? "the version's own forecast" : `${k} (its name in the API)`;
    head.append(th);
  }
  head.append(element("th", ""));
  const body = table.createTBody();
  for (const m of models) {
    for (const v of m.versions) {
      const row = body.insertRow();
      row.dataset.model = m.name;
      row.dataset.version = v.version;
      const meta = v.metadata;
      const isDefault = m.default_version === v.version;
      const names = [isDefault ? "default" : null, ...v.labels].filter((x) => x);
      row.append(
        element("td", m.name),
        element("td", `${v.version}${names.length ? " (" + names.join(", ") + ")" : ""}`),
        element("td", v.state, `state ${v.state.toLowerCase()}`),
        element("td", meta ? `${meta.architecture}${meta.kind && meta.kind !== "savedmodel" ? ` (${meta.kind})` : ""}, window ${meta.window_size}, season ${meta.season_length}` : "–", "wrap"),
      );
      if (v.error) row.cells[2].title = v.error;
      const scores = meta && meta.validation ? meta.validation.scores : {};
      const best = lowest(scores, methods, metric);
      for (const k of methods) {
        const s = scores[k];
        const cell = element("td", s ? number(s[metric]) : "", "num");
        if (k === best) {
          cell.classList.add("best");
          cell.prepend(element("span", "★ ", "best-mark"));
          cell.title = `lowest ${metric} of this version`;
        }
        row.append(cell);
      }
      const actions = element("td", null, "actions");
      if (meta) {
        const picture = element("button", "validation picture", "small");
        picture.type = "button";
        picture.addEventListener("click", () => showValidation(m.name, v.version));
        const use = element("button", "forecast with it", "small");
        use.type = "button";
        use.addEventListener("click", () => choose(m.name, v.version));
        actions.append(picture, use);
      }
      row.append(actions);
    }
  }
  holder.append(table);
}

function fillMetricChoice() {
  const select = $("metric");
  const current = select.value || "mae";
  select.replaceChildren();
  for (const k of metricsOf(models)) select.append(new Option(k.toUpperCase(), k, false, k === current));
}

function fillModelChoice() {
  const select = $("model");
  const current = select.value;
  select.replaceChildren();
  for (const m of models) select.append(new Option(m.name, m.name, false, m.name === current));
  fillVersionChoice();
}

function fillVersionChoice() {
  const select = $("version");
  select.replaceChildren(new Option("default (highest available)", ""));
  const m = models.find((x) => x.name === $("model").value);
  if (!m) return;
  for (const v of m.versions) {
    const option = new Option(`version ${v.version}${v.state === "AVAILABLE" ? "" : " (" + v.state + ")"}`, `v:${v.version}`);
    select.append(option);
  }
  for (const [label, version] of Object.entries(m.labels)) {
    select.append(new Option(`label ${label} (version ${version})`, `l:${label}`));
  }
}

function choose(name, version) {
  $("model").value = name;
  fillVersionChoice();
  $("version").value = `v:${version}`;
  $("forecast-section").scrollIntoView({ behavior: "smooth" });
}

async function loadModels() {
  clearMessage();
  try {
    const response = await call("GET", "/models");
    const body = await response.json();
    models = body.models;
    fillMetricChoice();
    renderModels();
    fillModelChoice();
    if (body.store_error) showError(new ApiError(0, "store_error", body.store_error, null));
  } catch (e) {
    $("models").replaceChildren(element("p", "The models could not be loaded.", "hint"));
    showError(e);
  }
}

function setImage(id, blob) {
  if (imageUrls[id]) URL.revokeObjectURL(imageUrls[id]);
  imageUrls[id] = URL.createObjectURL(blob);
  $(id).src = imageUrls[id];
}

async function showValidation(name, version) {
  clearMessage();
  try {
    const path = `/models/${encodeURIComponent(name)}/versions/${version}/plot`;
    const response = await call("GET", path);
    setImage("validation-image", await response.blob());
    $("validation-caption").textContent = `${name} version ${version}: forecast of the validation part, drawn at training time`;
    $("validation").hidden = false;
  } catch (e) {
    showError(e);
  }
}

// ---- series: pasted values or a CSV ----

function parseValues(text, what) {
  const parts = text.split(/[\s,;]+/).filter((p) => p !== "");
  return parts.map((p, i) => {
    const x = Number(p);
    if (!Number.isFinite(x)) throw new Error(`${what}: value ${i + 1} ("${p}") is not a number`);
    return x;
  });
}

function splitCsv(text) {
  // Each row keeps its line in the file (the first line is 1), as the server and trainer count.
  const all = text.split(/\r?\n/).map((l, i) => ({ line: i + 1, text: l }));
  const kept = all.filter((l) => l.text.trim() !== "");
  if (!kept.length) throw new Error("the CSV file is empty");
  const delimiter = [",", ";", "\t"].find((d) => kept[0].text.includes(d)) || ",";
  const cells = kept.map((l) => l.text.split(delimiter).map((c) => c.trim().replace(/^"(.*)"$/, "$1")));
  const numeric = (c) => c !== "" && Number.isFinite(Number(c));
  const hasHeader = cells[0].some((c) => !numeric(c));
  const header = hasHeader ? cells[0] : cells[0].map((_, i) => `column ${i + 1}`);
  const from = hasHeader ? 1 : 0;
  return { header, rows: cells.slice(from), lines: kept.slice(from).map((l) => l.line) };
}

function columnValues(csv, index) {
  return csv.rows.map((row, i) => {
    const cell = row[index];
    const x = cell === undefined || cell === "" ? NaN : Number(cell);
    if (!Number.isFinite(x)) {
      throw new Error(`CSV line ${csv.lines[i]}, column "${csv.header[index]}": "${cell ?? ""}" is not a number`);
    }
    return x;
  });
}

function useCsvColumn() {
  clearMessage();
  const index = Number($("csv-column").value);
  try {
    const values = columnValues(csvRows, index);
    $("series").value = values.join(", ");
    $("csv-info").textContent = `${values.length} values from "${csvRows.header[index]}"`;
    csvError = null;
  } catch (e) {
    $("series").value = "";
    $("csv-info").textContent = "";
    csvError = e;
    showError(e);
  }
}

async function readCsv() {
  const file = $("csv").files[0];
  if (!file) return;
  clearMessage();
  try {
    csvRows = splitCsv(await file.text());
  } catch (e) {
    $("series").value = "";
    csvError = e;
    showError(e);
    return;
  }
  const select = $("csv-column");
  select.replaceChildren();
  csvRows.header.forEach((h, i) => select.append(new Option(h, String(i))));
  // The last column whose first value is a number: a date or name column usually comes first.
  const first = csvRows.rows[0] || [];
  let chosen = 0;
  csvRows.header.forEach((_, i) => {
    if (first[i] !== undefined && first[i] !== "" && Number.isFinite(Number(first[i]))) chosen = i;
  });
  select.value = String(chosen);
  select.disabled = false;
  useCsvColumn();
}

// ---- forecasting ----

function requestBody() {
  const body = { model: $("model").value, series: parseValues($("series").value, "series") };
  if (!body.model) throw new Error("choose a model (load the models first)");
  if (!body.series.length) throw csvError || new Error("paste the series or choose a CSV file first");
  const version = $("version").value;
  if (version.startsWith("v:")) body.version = Number(version.slice(2));
  if (version.startsWith("l:")) body.version = version.slice(2);
  body.horizon = Number($("horizon").value);
  const levels = parseValues($("levels").value, "levels");
  if (levels.length) body.level = levels;
  const actuals = parseValues($("actuals").value, "actuals");
  if (actuals.length) body.actuals = actuals;
  return body;
}

function scoresTable(title, scored, best) {
  const wrap = element("div", null, "scores-block");
  wrap.append(element("h3", `${title}, positions ${scored.start} to ${scored.end - 1} (${scored.end - scored.start} values)`));
  const names = Object.keys(scored.scores);
  const metrics = names.length ? Object.keys(scored.scores[names[0]]) : [];
  const table = element("table", null, "scores");
  const head = table.createTHead().insertRow();
  head.append(element("th", "method"));
  for (const k of metrics) head.append(element("th", k.toUpperCase(), "num"));
  const body = table.createTBody();
  for (const name of names) {
    const row = body.insertRow();
    const label = element("td", methodName(name));
    if (name === best) {
      row.classList.add("best");
      label.prepend(element("span", "★ ", "best-mark"));
    }
    row.append(label);
    for (const k of metrics) row.append(element("td", number(scored.scores[name][k]), "num"));
  }
  wrap.append(table);
  return wrap;
}

function renderScores(answer) {
  const holder = $("scores");
  holder.replaceChildren();
  const m = answer.model;
  holder.append(element("p", `${m.name} version ${m.version} (${m.architecture}, window ${m.window_size}, season ${m.season_length}): ${answer.forecast.values.length} steps forecast.`));
  const windowed = answer.metrics.windowed;
  if (windowed) {
    holder.append(scoresTable("One step ahead over the series", windowed, answer.best));
  } else {
    holder.append(element("p", "No one-step scores: the series is no longer than the model's window.", "hint"));
  }
  const horizon = answer.metrics.horizon;
  if (horizon) {
    const best = lowest(horizon.scores, Object.keys(horizon.scores), "mae");
    holder.append(scoresTable("The horizon against the actuals", horizon, best));
  }
}

async function forecast(event) {
  event.preventDefault();
  clearMessage();
  let body;
  try {
    body = requestBody();
  } catch (e) {
    showError(e);
    return;
  }
  $("submit").disabled = true;
  $("busy").hidden = false;
  try {
    const [answer, picture] = await Promise.all([
      call("POST", "/forecast", body).then((r) => r.json()),
      call("POST", "/forecast/plot", body).then((r) => r.blob()),
    ]);
    setImage("forecast-image", picture);
    renderScores(answer);
    $("result").hidden = false;
  } catch (e) {
    $("result").hidden = true;
    showError(e);
  } finally {
    $("submit").disabled = false;
    $("busy").hidden = true;
  }
}

$("key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  loadModels();
});
$("metric").addEventListener("change", renderModels);
$("model").addEventListener("change", fillVersionChoice);
$("csv").addEventListener("change", readCsv);
$("csv-column").addEventListener("change", useCsvColumn);
$("series").addEventListener("input", () => { csvError = null; });
$("forecast-form").addEventListener("submit", forecast);
loadModels();
