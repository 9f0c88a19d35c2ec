// The operator view: devices live over the feed, commands with their fate, the alarm queue.
"use strict";

const state = {
  lang: localStorage.getItem("yxy-lang") || "zh", token: sessionStorage.getItem("yxy-token"),
  devices: {}, alarms: [], commands: {}, outcomes: {}, lastSeq: 0,
};
const SHOWN = ["on", "busy", "queue", "indoor_temp_c", "mode", "setpoint_c", "occupancy", "charged", "temp_c", "level_l", "free"];
const t = (key) => (TEXT[state.lang] && TEXT[state.lang][key]) || key;

function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  renderDevices();
  renderAlarms();
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method, credentials: "same-origin",
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (response.status === 401) { showLogin(); throw new Error("signed out"); }
  return response;
}

function showLogin() {
  document.getElementById("login").hidden = false;
  document.getElementById("station").hidden = true;
  document.getElementById("logout").hidden = true;
}

async function signIn(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch("/api/auth/login", {
    method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: form.get("username"), password: form.get("password") }),
  });
  const error = document.getElementById("login-error");
  if (!response.ok) { error.textContent = `${t("bad_login")}: ${(await response.json()).detail}`; return; }
  const me = await response.json();
  state.token = me.token;
  sessionStorage.setItem("yxy-token", me.token);
  error.textContent = "";
  await start(me);
}

async function start(me) {
  state.started = true;
  document.getElementById("who").textContent = `${me.display_name} (${me.role})`;
  document.getElementById("login").hidden = true;
  document.getElementById("station").hidden = false;
  document.getElementById("logout").hidden = false;
  const devices = await (await api("GET", "/api/devices")).json();
  devices.forEach((d) => { state.devices[d.id] = d; });
  await loadAlarms();
  renderDevices();
  connectFeed();
  drawOccupancy();
  loadDoorLog();
  drawVisitors();
  const names = await (await api("GET", "/api/runs/library")).json();
  const choice = document.getElementById("scenario-choice");
  choice.innerHTML = names.map((n) => `<option>${n}</option>`).join("");
  choice.onchange = showValues;
  await showValues();
  loadRuns();
}

async function showValues() {
  // The scenario's values as a form: what a planner changes most (crowd size, how many of each device).
  const name = document.getElementById("scenario-choice").value;
  const summary = await (await api("GET", `/api/runs/library/${name}`)).json();
  const fields = [["population.workers", t("workers"), summary.workers],
    ...Object.entries(summary.units).map(([id, units]) => [`devices.${id}.units`, `${t("units_of")}${id}`, units])];
  const box = document.getElementById("scenario-values");
  box.innerHTML = fields.map(([key, label, value]) =>
    `<label><span>${label}</span><input type="number" min="0" data-key="${key}" data-default="${value}" value="${value}"></label>`).join("");
  box.dataset.scenario = name;
  document.querySelector("#run-form input[name=replications]").value = Math.min(summary.replications, 5);
}

async function startRun(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const typed = String(form.get("overrides") || "").split("\n").map((l) => l.trim()).filter(Boolean);
  const changed = [...document.querySelectorAll("#scenario-values input")]
    .filter((input) => input.value !== input.dataset.default).map((input) => `${input.dataset.key}=${input.value}`);
  const overrides = changed.concat(typed);
  const file = form.get("upload");
  const body = file && file.size ? { toml: await file.text() } : { scenario: form.get("scenario") };
  const response = await api("POST", "/api/runs", { ...body, replications: Number(form.get("replications")), overrides });
  document.getElementById("run-error").textContent = response.ok ? "" : (await response.json()).detail;
  loadRuns();
}

async function loadRuns() {
  const runs = await (await api("GET", "/api/runs")).json();
  document.getElementById("runs").innerHTML = runs.map((r) => `<li class="run ${r.status}" data-run="${r.id}">
    ${r.status === "done" ? `<input type="checkbox" class="pick" value="${r.id}">` : ""}<b>#${r.id}</b> ${r.scenario} <span class="status">${t(r.status)}</span>
    <progress max="${r.replications}" value="${r.done_replications}"></progress>
    ${r.status === "done" ? `<a target="_blank" href="/api/runs/${r.id}/report?lang=${state.lang}">${t("report")}</a>` : ""}
    ${r.error ? `<small class="error">${r.error}</small>` : ""}</li>`).join("");
  if (runs.some((r) => r.status === "queued" || r.status === "running")) setTimeout(loadRuns, 1000);
}

function connectFeed() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/feed?token=${encodeURIComponent(state.token)}&after=${state.lastSeq}`);
  socket.onmessage = (event) => onChange(JSON.parse(event.data));
  socket.onclose = () => { if (!document.getElementById("station").hidden) setTimeout(connectFeed, 1000); };
}

function onChange(change) {
  if (change.seq) state.lastSeq = change.seq;
  const device = state.devices[change.entity];
  if (change.name === "state" && device) { Object.assign(device.reported, change.data); renderDevice(device); }
  else if (change.name === "availability" && device) { device.available = change.data.available; renderDevice(device); }
  else if (change.name === "worker_entered" || change.name === "worker_left") {
    // Straight from the feed: the history catches up every two seconds, the page need not wait for it.
    document.getElementById("door-log").insertAdjacentHTML("afterbegin",
      doorLine({ at: new Date().toISOString(), event: change.name, worker: change.data.worker, group: change.data.group }));
  }
  else if (change.name === "command_acked" || change.name === "command_failed") {
    // The ack can beat the POST's own answer here: keep the outcome for when it arrives.
    state.outcomes[change.data.command] = change.name === "command_acked" ? "acked" : "failed";
    const command = state.commands[change.data.command];
    if (command) { command.state = state.outcomes[command.id]; renderDevice(state.devices[command.device]); }
  } else if (change.name.startsWith("alarm_")) { loadAlarms(); }
  renderSummary();
}

function renderSummary() {
  const all = Object.values(state.devices);
  const door = all.find((d) => d.kind === "door");
  document.getElementById("occupancy").textContent = door && door.reported.occupancy !== undefined ? door.reported.occupancy : "–";
  document.getElementById("online").textContent = `${all.filter((d) => d.available).length} / ${all.length}`;
  document.getElementById("alarm-count").textContent = state.alarms.length;
}

function renderDevices() {
  const box = document.getElementById("devices");
  if (!box) return;
  Object.values(state.devices).forEach(renderDevice);
  renderSummary();
}

function renderDevice(device) {
  if (!device) return;
  let card = document.getElementById(`device-${device.id}`);
  if (!card) {
    card = document.createElement("article");
    card.id = `device-${device.id}`;
    card.className = "device";
    document.getElementById("devices").appendChild(card);
  }
  card.classList.toggle("offline", device.available === false);
  const fields = SHOWN.filter((k) => device.reported[k] !== undefined && device.reported[k] !== null)
    .map((k) => `<li><span>${t(k === "on" ? "power" : k)}</span><b data-field="${k}">${format(k, device.reported[k])}</b></li>`).join("");
  const last = Object.values(state.commands).filter((c) => c.device === device.id).pop();
  const control = ["lights", "air_conditioner"].includes(device.kind)
    ? `<button type="button" class="switch" data-device="${device.id}">${device.reported.on ? t("switch_off") : t("switch_on")}</button>`
    : "";
  card.innerHTML = `<h3>${t("kind_" + device.kind)} <small>${device.id}</small>${device.available === false ? ` <em>${t("offline")}</em>` : ""}</h3>
    <ul>${fields}</ul>${control}${last ? `<p class="command ${last.state}" data-command="${last.id}">${t(last.state)}</p>` : ""}`;
  const button = card.querySelector("button.switch");
  if (button) button.onclick = (event) => { event.stopPropagation(); command(device, { on: !device.reported.on }); };
  card.onclick = () => showDevice(device.id);
  if (state.detail === device.id) renderDetail();
}

function format(key, value) {
  if (typeof value === "boolean") return t(value ? "on" : "off");
  if (key.endsWith("_c")) return `${Number(value).toFixed(1)} °C`;
  if (key === "level_l") return `${Number(value).toFixed(1)} L`;
  return value;
}

async function command(device, fields) {
  const response = await api("POST", `/api/devices/${device.id}/commands`, { set: fields });
  if (!response.ok) return;
  const sent = await response.json();
  state.commands[sent.id] = { id: sent.id, device: device.id, state: state.outcomes[sent.id] || "pending" };
  renderDevice(device);
}

async function loadAlarms() {
  state.alarms = await (await api("GET", "/api/alarms")).json();
  renderAlarms();
  renderSummary();
}

function renderAlarms() {
  const list = document.getElementById("alarms");
  if (!list) return;
  list.innerHTML = "";
  document.getElementById("no-alarms").hidden = state.alarms.length > 0;
  state.alarms.forEach((alarm) => {
    const item = document.createElement("li");
    item.className = `alarm ${alarm.severity}`;
    item.dataset.alarm = alarm.id;
    item.innerHTML = `<b>${alarm.source}</b> ${alarm.type} <span class="state">${t(alarm.state)}</span> <small>${alarm.detail}</small>`;
    for (const [step, label] of [["acknowledge", "acknowledge"], ["assign", "assign"], ["note", "note"], ["clear", "close"]]) {
      if (step === "acknowledge" && alarm.state !== "raised") continue;
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.step = step;
      button.textContent = t(label);
      button.onclick = async () => {
        const body = { note: "" };
        if (step === "assign") body.assignee = prompt(t("assign_to")) || "";
        if (step === "note") body.note = prompt(t("note_text")) || "";
        await api("POST", `/api/alarms/${alarm.id}/${step}`, body);
        await loadAlarms();
      };
      item.appendChild(button);
    }
    list.appendChild(item);
  });
}

function showDevice(id) {
  state.detail = id;
  document.getElementById("device-detail").hidden = false;
  const device = state.devices[id];
  const numeric = Object.keys(device.reported).filter((k) => typeof device.reported[k] === "number");
  document.getElementById("detail-field").innerHTML = numeric.map((k) => `<option value="${k}">${t(k)} (${k})</option>`).join("");
  renderDetail();
  drawDetail();
  document.getElementById("device-detail").scrollIntoView();
}

function renderDetail() {
  const device = state.devices[state.detail];
  if (!device) return;
  document.getElementById("detail-title").textContent = `${t("kind_" + device.kind)} ${device.id}`;
  const rows = Object.entries(device.reported).map(([k, v]) => `<dt>${k}</dt><dd>${Array.isArray(v) ? v.join(", ") : format(k, v)}</dd>`);
  const wanted = Object.entries(device.desired || {}).map(([k, v]) => `<dt>${t("desired")} ${k}</dt><dd>${v}</dd>`);
  document.getElementById("detail-fields").innerHTML = rows.concat(wanted).join("");
}

async function drawDetail() {
  const field = document.getElementById("detail-field").value;
  if (!field || !window.Plotly) return;
  const points = await (await api("GET", `/api/devices/${state.detail}/history?field=${field}&hours=24`)).json();
  Plotly.newPlot("detail-chart", [{ x: points.map((p) => p.at), y: points.map((p) => p.value), type: "scatter", mode: "lines" }],
    { margin: { t: 10, r: 10, b: 40, l: 40 }, height: 240 }, { displaylogo: false, responsive: true });
}

async function loadDoorLog() {
  const events = await (await api("GET", "/api/station/door-log?hours=24&limit=30")).json();
  document.getElementById("door-log").innerHTML = events.map(doorLine).join("");
}

function doorLine(e) {
  return `<li class="${e.event}"><time>${new Date(e.at).toLocaleTimeString()}</time> <b>${t(e.event)}</b> ${e.worker || ""} <small>${e.group || ""}</small></li>`;
}

async function drawVisitors() {
  if (!window.Plotly) return;
  const figures = await (await api("GET", "/api/station/today")).json();
  Plotly.newPlot("visitors-chart", [{ x: [...Array(24).keys()], y: figures.visitors_by_hour, type: "bar" }],
    { margin: { t: 10, r: 10, b: 40, l: 40 }, height: 220, xaxis: { dtick: 2 } }, { displaylogo: false, responsive: true });
}

async function drawOccupancy() {
  const door = Object.values(state.devices).find((d) => d.kind === "door");
  if (!door || !window.Plotly) return;
  const points = await (await api("GET", `/api/devices/${door.id}/history?field=occupancy&hours=24`)).json();
  Plotly.newPlot("occupancy-chart", [{ x: points.map((p) => p.at), y: points.map((p) => p.value), type: "scatter", mode: "lines", line: { shape: "hv" } }],
    { margin: { t: 10, r: 10, b: 40, l: 40 }, height: 260 }, { displaylogo: false, responsive: true });
}

document.getElementById("login-form").addEventListener("submit", signIn);
document.getElementById("run-form").addEventListener("submit", startRun);
document.getElementById("detail-field").addEventListener("change", drawDetail);
document.getElementById("detail-close").addEventListener("click", () => { state.detail = null; document.getElementById("device-detail").hidden = true; });
document.getElementById("compare").addEventListener("click", () => {
  const ids = [...document.querySelectorAll("#runs input.pick:checked")].map((box) => `ids=${box.value}`);
  if (ids.length >= 2) window.open(`/api/runs/compare?${ids.join("&")}&lang=${state.lang}`, "_blank");
});
document.getElementById("lang").addEventListener("click", () => {
  state.lang = state.lang === "zh" ? "en" : "zh";
  localStorage.setItem("yxy-lang", state.lang);
  applyLanguage();
});
document.getElementById("logout").addEventListener("click", async () => {
  await api("POST", "/api/auth/logout");
  sessionStorage.removeItem("yxy-token");
  location.reload();
});
applyLanguage();
(async () => {
  const me = await fetch("/api/auth/me", { credentials: "same-origin" });
  // A quick sign-in can beat this first check: then the page is already running and stays so.
  if (me.ok && state.token && !state.started) await start(await me.json()); else if (!state.started) showLogin();
})();
