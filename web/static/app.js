// The operator view: devices live over the feed, commands with their fate, the alarm queue.
"use strict";

const state = {
  lang: localStorage.getItem("yxy-lang") || "zh",
  devices: {}, alarms: [], commands: {}, outcomes: {}, lastSeq: 0,
};
const SHOWN = ["on", "busy", "queue", "indoor_temp_c", "mode", "setpoint_c", "occupancy", "charged", "temp_c", "level_l", "free"];
const t = (key) => (TEXT[state.lang] && TEXT[state.lang][key]) || key;
const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
// Everything a device, a scenario file or a user typed is escaped before it becomes HTML.
const esc = (value) => String(value ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);
const CHART = { displaylogo: false, responsive: true };
// Scenario labels are often bilingual ("微波炉 Microwave"): show the half in the page's language.
const BILINGUAL = /^(\S*[\u3400-\u9fff]\S*)\s+([\x20-\x7e]+)$/;
const labelFor = (label) => { const m = BILINGUAL.exec(label || ""); return m ? m[state.lang === "zh" ? 1 : 2] : label; };
const deviceName = (id) => { const spot = state.plan && state.plan.devices.find((d) => d.id === id); return spot ? labelFor(spot.label) : id; };
const SVG_NS = "http://www.w3.org/2000/svg";
// Every time is shown in the station's own zone (the plan says which), whatever zone the browser is in: the
// server sends moments with their offset, and the custodian reads the station's clock.
const zone = () => (state.plan && state.plan.timezone) || "Asia/Shanghai";
const CLOCK = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
const DAY = { year: "numeric", month: "2-digit", day: "2-digit" };
function stationParts(moment) {
  const parts = new Intl.DateTimeFormat("en-CA", { ...DAY, ...CLOCK, timeZone: zone() }).formatToParts(new Date(moment));
  return Object.fromEntries(parts.map((p) => [p.type, p.value]));
}
// "14:05:09", or "2026-12-02 14:05:09" with the day: the same digits in either language.
function stationTime(moment, withDay = false) {
  const p = stationParts(moment);
  return `${withDay ? `${p.year}-${p.month}-${p.day} ` : ""}${p.hour}:${p.minute}:${p.second}`;
}
// Plotly draws a date string as written, ignoring any offset: hand it the station's wall time.
const stationWall = (moment) => stationTime(moment, true);

function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  if (state.connection) showConnection(state.connection);
  renderDevices();
  renderAlarms();
  if (state.today) drawToday(state.today);
  if (state.me) {
    document.getElementById("who").textContent = `${state.me.display_name} (${t("role_" + state.me.role)})`;
    if (state.me.role === "admin") loadStaff();
  }
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
  if (!response.ok) { error.textContent = `${t("bad_login")}: ${detailOf(await response.json())}`; return; }
  const me = await response.json();  // the session is in an HttpOnly cookie: this page never holds the token
  error.textContent = "";
  await start(me);
}

async function start(me) {
  state.started = true;
  state.me = me;
  document.getElementById("who").textContent = `${me.display_name} (${t("role_" + me.role)})`;
  // Controls a role may not use are not shown (the server refuses them anyway).
  document.body.dataset.role = me.role;
  document.getElementById("run-form").hidden = me.role === "auditor";
  document.getElementById("staff").hidden = me.role !== "admin";
  document.getElementById("audit").hidden = !["admin", "auditor"].includes(me.role);
  state.plan = await (await api("GET", "/api/station/plan")).json();  // its time zone dates everything below
  if (me.role === "admin") loadStaff();
  if (["admin", "auditor"].includes(me.role)) loadAudit();
  document.getElementById("login").hidden = true;
  document.getElementById("station").hidden = false;
  document.getElementById("logout").hidden = false;
  await loadDevices();
  await loadAlarms();
  drawPlan();
  renderDevices();
  await loadDoorLog();  // before the feed: its live entries go on top of the history, never under a reload of it
  connectFeed();
  drawOccupancy();
  loadToday();
  const names = await (await api("GET", "/api/runs/library")).json();
  const choice = document.getElementById("scenario-choice");
  choice.innerHTML = names.map((n) => `<option>${esc(n)}</option>`).join("");
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
    `<label><span>${esc(label)}</span><input type="number" min="0" data-key="${esc(key)}" data-default="${esc(value)}" value="${esc(value)}"></label>`).join("");
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
  document.getElementById("run-error").textContent = response.ok ? "" : detailOf(await response.json());
  loadRuns();
}

async function loadRuns() {
  // A row is rebuilt only when what it shows has changed, so a button is not pulled from under a finger.
  const runs = await (await api("GET", "/api/runs")).json();
  const list = document.getElementById("runs");
  const rows = runs.map((r) => {
    const html = runRow(r);
    const shown = list.querySelector(`li.run[data-run="${r.id}"]`);
    if (shown && shown.dataset.html === html) return shown;
    const row = document.createElement("li");
    row.className = `run ${r.status}`;
    row.dataset.run = r.id;
    row.dataset.html = html;
    row.innerHTML = html;
    if (shown?.querySelector("input.pick:checked")) row.querySelector("input.pick")?.setAttribute("checked", "");  // a pick survives
    return row;
  });
  list.replaceChildren(...rows);
  if (runs.some((r) => r.status === "queued" || r.status === "running")) setTimeout(loadRuns, 1000);
}

function runRow(r) {
  return `${r.status === "done" ? `<input type="checkbox" class="pick" value="${r.id}">` : ""}<b>#${r.id}</b> ${esc(r.scenario)} <span class="status">${t(r.status)}</span>
    <progress max="${r.replications}" value="${r.done_replications}"></progress>
    ${r.status === "done" ? `<a target="_blank" href="/api/runs/${r.id}/report?lang=${state.lang}">${t("report")}</a>` : ""}
    ${mayCancel(r) ? `<button type="button" class="cancel-run" data-run="${r.id}">${t("cancel_run")}</button>` : ""}
    ${r.error ? `<small class="error">${esc(r.error)}</small>` : ""}`;
}

function mayCancel(run) {
  // As the server decides: a waiting run, by its owner or an admin.
  const waiting = run.status === "queued" || run.status === "running";
  return waiting && (state.me.role === "admin" || (state.me.role === "operator" && run.username === state.me.username));
}

async function cancelRun(id) {
  const response = await api("POST", `/api/runs/${id}/cancel`);
  document.getElementById("run-error").textContent = response.ok ? "" : detailOf(await response.json());
  loadRuns();
}

async function loadDevices() {
  const answer = await api("GET", "/api/devices");
  (await answer.json()).forEach((d) => { state.devices[d.id] = d; });
  state.lastSeq = Number(answer.headers.get("X-Feed-Seq") || 0); // the feed resumes after what the list shows
}

const FEED_SILENT_MS = 15000;  // three of the server's 5 s heartbeats missed: the server or the network is gone

function connectFeed() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/feed?after=${state.lastSeq}`);  // signed in by the cookie
  let watchdog = null;
  const heard = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => { showConnection("feed_silent"); socket.close(); }, FEED_SILENT_MS);
  };
  socket.onopen = () => { heard(); showConnection(null); };
  socket.onmessage = (event) => { heard(); showConnection(null); const message = JSON.parse(event.data); if (!message.heartbeat) onChange(message); };
  socket.onclose = async (event) => {
    clearTimeout(watchdog);
    // 1008: the session ended while open. A refused reconnect shows as 1006: ask the API (a 401 shows the sign-in).
    if (event.code === 1008) { showLogin(); return; }
    // 4410: the changes since the page's last one are gone (it was away long): reload the devices, then resume.
    if (event.code === 4410) { await loadDevices(); renderDevices(); }
    if (document.getElementById("station").hidden) return;
    const me = await fetch("/api/auth/me", { credentials: "same-origin" }).catch(() => null); // null: the server is away
    if (me && me.status === 401) { showLogin(); return; }
    showConnection(me ? "feed_down" : "server_gone");
    setTimeout(connectFeed, me ? 1000 : 3000);
  };
}

function showConnection(problem) {
  // What is on screen may be out of date while the feed is down: say so, and grey it, until it resumes.
  const banner = document.getElementById("connection");
  state.connection = problem;
  banner.hidden = !problem;
  banner.textContent = problem ? t(problem) : "";
  document.body.classList.toggle("stale", Boolean(problem));
}

function onChange(change) {
  if (change.seq) state.lastSeq = change.seq;
  const device = state.devices[change.entity];
  if (change.name === "state" && device) { Object.assign(device.reported, change.data); renderDevice(device); }
  else if (change.name === "availability" && device) { device.available = change.data.available; renderDevice(device); }
  else if (change.name === "worker_entered" || change.name === "worker_left") {
    // Straight from the feed: the history catches up every two seconds, the page need not wait for it. A change
    // the history already showed (the feed resumes from before the log was read) is not shown twice.
    const entry = { at: change.at, event: change.name, worker: change.data.worker, group: change.data.group };
    if (!document.querySelector(`#door-log li[data-key="${CSS.escape(doorKey(entry))}"]`)) {
      document.getElementById("door-log").insertAdjacentHTML("afterbegin", doorLine(entry));
    }
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
    .map((k) => `<li><span>${t(k === "on" ? "power" : k)}</span><b data-field="${k}">${esc(format(k, device.reported[k]))}</b></li>`).join("");
  const last = Object.values(state.commands).filter((c) => c.device === device.id).pop();
  // A power switch on every device whose kind obeys "on" (its registry entry says so, through the API).
  const control = device.settable && "on" in device.settable && canOperate()
    ? `<button type="button" class="switch" data-device="${device.id}">${device.reported.on ? t("switch_off") : t("switch_on")}</button>`
    : "";
  card.innerHTML = `<h3>${esc(deviceName(device.id))} <small>${esc(device.id)}</small>${device.available === false ? ` <em>${t("offline")}</em>` : ""}</h3>
    <ul>${fields}</ul>${control}${last ? `<p class="command ${last.state}" data-command="${last.id}">${t(last.state)}</p>` : ""}`;
  const button = card.querySelector("button.switch");
  if (button) button.onclick = (event) => { event.stopPropagation(); command(device, { on: !device.reported.on }); };
  card.onclick = () => showDevice(device.id);
  if (state.detail === device.id) renderDetail();
  renderSpot(device);
}

function format(key, value) {
  if (typeof value === "boolean") return key === "on" ? t(value ? "on" : "off") : t(value ? "yes" : "no");
  if (key === "mode") return t(`mode_${value}`);
  if (value === null || value === undefined) return "–";
  if (key.endsWith("_c")) return `${Number(value).toFixed(1)} °C`;
  if (key === "level_l") return `${Number(value).toFixed(1)} L`;
  return value;
}

async function command(device, fields) {
  const response = await api("POST", `/api/devices/${device.id}/commands`, { set: fields });
  if (!response.ok) {
    const note = document.getElementById("detail-command");
    if (note && state.detail === device.id) { note.className = "command failed"; note.textContent = detailOf(await response.json()); }
    return;
  }
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
    const repeats = alarm.count > 1 ? ` <span class="count">×${alarm.count}</span>` : "";
    item.innerHTML = `<time datetime="${esc(alarm.raised_at)}">${stationTime(alarm.raised_at, true)}</time> <b>${esc(deviceName(alarm.source))}</b> ${esc(known(`alarm_${alarm.type}`, alarm.type))}${repeats} <span class="state">${t(alarm.state)}</span> <small>${esc(alarm.detail)}</small>`;
    for (const [step, label] of [["acknowledge", "acknowledge"], ["assign", "assign"], ["note", "note"], ["clear", "close"]]) {
      if ((step === "acknowledge" && alarm.state !== "raised") || !canOperate()) continue;
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

function canOperate() {
  return state.me && state.me.role !== "auditor";
}

async function changePassword(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await api("POST", "/api/auth/password", { current: form.get("current"), new: form.get("new") });
  const message = document.getElementById("password-message");
  message.className = response.ok ? "" : "error";
  message.textContent = response.ok ? t("password_changed") : detailOf(await response.json());
  if (response.ok) event.target.reset();
}

function detailOf(body) {
  // FastAPI's 422 lists each field's problem; other errors are one sentence.
  return Array.isArray(body.detail) ? body.detail.map((d) => `${d.loc.slice(1).join(".")}: ${d.msg}`).join("; ") : body.detail;
}

const ROLES = ["custodian", "operator", "admin", "auditor"];

async function loadStaff() {
  // An officer's view of the accounts: change a role, reset a password, deactivate or activate; the server audits each.
  const users = await (await api("GET", "/api/users")).json();
  document.getElementById("staff-list").innerHTML = users.map((u) => `<tr class="${u.active ? "" : "inactive"}" data-user="${esc(u.username)}">
    <td>${esc(u.username)}</td><td>${esc(u.display_name)}${u.active ? "" : ` (${t("inactive")})`}</td>
    <td><select class="role">${ROLES.map((r) => `<option value="${r}"${r === u.role ? " selected" : ""}>${t("role_" + r)}</option>`).join("")}</select></td>
    <td><button type="button" class="reset">${t("reset_password")}</button>
      <button type="button" class="standing" data-active="${u.active ? "false" : "true"}">${t(u.active ? "deactivate" : "activate")}</button></td></tr>`).join("");
  document.querySelectorAll("#staff-list tr").forEach((row) => {
    const change = async (fields) => {
      const response = await api("PATCH", `/api/users/${encodeURIComponent(row.dataset.user)}`, fields);
      const message = document.getElementById("staff-message");
      message.className = response.ok ? "" : "error";
      message.textContent = response.ok ? "" : detailOf(await response.json());
      loadStaff();
      loadAudit();
    };
    row.querySelector("select.role").onchange = (event) => change({ role: event.target.value });
    row.querySelector("button.standing").onclick = (event) => change({ active: event.target.dataset.active === "true" });
    row.querySelector("button.reset").onclick = () => {
      const password = prompt(t("new_password"));
      if (password) change({ password });
    };
  });
}

async function addStaff(event) {
  event.preventDefault();
  const form = Object.fromEntries(new FormData(event.target));
  const response = await api("POST", "/api/users", form);
  const message = document.getElementById("staff-message");
  message.className = response.ok ? "" : "error";
  message.textContent = response.ok ? `${t("added")}: ${form.username}` : detailOf(await response.json());
  if (response.ok) { event.target.reset(); loadStaff(); loadAudit(); }
}

async function loadAudit(older = false) {
  // Newest first, a page at a time; the filters are the server's (a page of 50 is never filtered here).
  const form = new FormData(document.getElementById("audit-filter"));
  const query = new URLSearchParams({ limit: 50 });
  for (const key of ["username", "action"]) if (form.get(key)) query.set(key, form.get(key));
  if (older && state.auditBefore) query.set("before", state.auditBefore);
  const answer = await api("GET", `/api/audit?${query}`);
  const entries = await answer.json();
  state.auditBefore = answer.headers.get("X-Next-Before");
  const rows = entries.map((e) => `<li><time datetime="${esc(e.at)}">${stationTime(e.at, true)}</time>
    <b>${esc(e.username)}</b> ${esc(e.action)} <small>${esc(e.target)}</small></li>`).join("");
  const list = document.getElementById("audit-list");
  list.innerHTML = older ? list.innerHTML + rows : rows;
  document.getElementById("audit-older").hidden = !state.auditBefore;
}

function showDevice(id) {
  state.detail = id;
  document.getElementById("device-detail").hidden = false;
  const device = state.devices[id];
  const numeric = Object.keys(device.reported).filter((k) => typeof device.reported[k] === "number");
  drawControls(device);
  document.getElementById("detail-field").innerHTML = numeric.map((k) => `<option value="${esc(k)}">${esc(fieldName(k))}</option>`).join("");
  renderDetail();
  drawDetail();
  document.getElementById("device-detail").scrollIntoView();
}

function drawControls(device) {
  // One input per field the device takes in a command (from the API), filled with what it wants or reports now.
  const form = document.getElementById("detail-controls");
  const fields = Object.entries(device.settable || {});
  form.hidden = !fields.length || !canOperate();
  form.innerHTML = fields.map(([name, spec]) => {
    const now = device.desired[name] ?? device.reported[name];
    let input;
    if (spec.type === "boolean") {
      const [yes, no] = name === "on" ? ["on", "off"] : ["yes", "no"];
      input = `<select name="${esc(name)}"><option value="true"${now === true ? " selected" : ""}>${t(yes)}</option>
        <option value="false"${now === false ? " selected" : ""}>${t(no)}</option></select>`;
    } else if (spec.enum) {
      input = `<select name="${esc(name)}">${spec.enum.map((v) =>
        `<option value="${esc(v)}"${v === now ? " selected" : ""}>${esc(name === "mode" ? t(`mode_${v}`) : v)}</option>`).join("")}</select>`;
    } else if (spec.type === "number") {
      input = `<input name="${esc(name)}" type="number" step="0.5" min="${spec.minimum ?? ""}" max="${spec.maximum ?? ""}" value="${esc(now ?? "")}">`;
    } else {
      input = `<input name="${esc(name)}" maxlength="${spec.maxLength ?? 500}" value="${esc(now ?? "")}">`;
    }
    return `<label><span>${esc(fieldName(name))}</span>${input}</label>`;
  }).join("") + `<button type="submit">${t("apply")}</button><p class="command" id="detail-command"></p>`;
  form.onsubmit = (event) => {
    event.preventDefault();
    const wanted = {};
    fields.forEach(([name, spec]) => {
      const raw = form.elements[name].value;
      const value = spec.type === "boolean" ? raw === "true" : spec.type === "number" ? Number(raw) : raw;
      if (raw !== "" && value !== device.reported[name]) wanted[name] = value;
    });
    if (Object.keys(wanted).length) command(device, wanted);
  };
}

function known(key, otherwise) {
  // A name a scenario made up (an alarm type) shows as it is when the page has no words for it.
  const text = t(key);
  return text === key ? otherwise : text;
}

function fieldName(key) {
  return known(key === "on" ? "power" : key, key);
}

function renderDetail() {
  const device = state.devices[state.detail];
  if (!device) return;
  document.getElementById("detail-title").textContent = `${deviceName(device.id)} (${device.id})`;
  const rows = Object.entries(device.reported).map(([k, v]) =>
    `<dt>${esc(fieldName(k))}</dt><dd>${esc(Array.isArray(v) ? v.map((x) => (x === null ? "–" : x)).join(", ") : format(k, v))}</dd>`);
  const wanted = Object.entries(device.desired || {}).map(([k, v]) => `<dt>${t("desired")} ${esc(fieldName(k))}</dt><dd>${esc(format(k, v))}</dd>`);
  document.getElementById("detail-fields").innerHTML = rows.concat(wanted).join("");
  const last = Object.values(state.commands).filter((c) => c.device === device.id).pop();
  const note = document.getElementById("detail-command");
  if (note && last) { note.className = `command ${last.state}`; note.textContent = t(last.state); }
}

async function drawDetail() {
  const field = document.getElementById("detail-field").value;
  if (!field || !window.Plotly) return;
  drawLastDay("detail-chart", await (await api("GET", `/api/devices/${state.detail}/history?field=${field}&hours=24`)).json(), 240);
}

function drawLastDay(element, points, height) {
  // Reported values hold until the next report: steps over the whole last day, the last value held until now.
  const now = new Date();
  if (points.length) points.push({ at: now.toISOString(), value: points[points.length - 1].value });
  Plotly.newPlot(element, [{ x: points.map((p) => stationWall(p.at)), y: points.map((p) => p.value), type: "scatter", mode: "lines",
    line: { shape: "hv" } }],
  { margin: { t: 10, r: 10, b: 40, l: 40 }, height, xaxis: { type: "date", range: [stationWall(now - 24 * 3600 * 1000), stationWall(now)] } },
  CHART);
}

async function loadDoorLog() {
  const events = await (await api("GET", "/api/station/door-log?hours=24&limit=30")).json();
  document.getElementById("door-log").innerHTML = events.map(doorLine).join("");
}

const doorKey = (e) => `${e.event}|${e.worker}|${Date.parse(e.at)}`;

function doorLine(e) {
  return `<li class="${esc(e.event)}" data-key="${esc(doorKey(e))}"><time datetime="${esc(e.at)}">${stationTime(e.at)}</time> <b>${esc(t(e.event))}</b> ${esc(e.worker)} <small>${esc(e.group)}</small></li>`;
}

async function loadToday() {
  // Today's book is kept by the server as the feed goes by; a minute is fresh enough for hourly charts.
  clearTimeout(state.todayTimer);
  state.today = await (await api("GET", "/api/station/today")).json();
  drawToday(state.today);
  state.todayTimer = setTimeout(loadToday, 60000);
}

function drawToday(today) {
  document.getElementById("today-day").textContent = `${today.day} (${today.timezone})`;
  document.getElementById("visitors-today").textContent = today.visitors;
  document.getElementById("commands-today").textContent = today.commands;
  document.getElementById("alarms-today").textContent = today.alarms_raised;
  const served = today.devices.filter((d) => d.wait_mean_s !== null);
  const uses = served.reduce((sum, d) => sum + d.uses, 0);
  const wait = uses ? served.reduce((sum, d) => sum + d.wait_mean_s * d.uses, 0) / uses : null;
  document.getElementById("wait-today").textContent = wait === null ? "–" : duration(wait);
  if (!window.Plotly) return;
  const hours = [...Array(24).keys()];
  const small = { margin: { t: 10, r: 10, b: 40, l: 40 }, height: 220, xaxis: { dtick: 2, title: { text: t("hour") } } };
  Plotly.react("visitors-chart", [{ x: hours, y: today.visitors_by_hour, type: "bar", name: t("visitors_today") }], small, CHART);
  const used = today.devices.filter((d) => d.utilisation !== null).slice(0, 10).reverse();
  Plotly.react("busiest-chart", [{
    type: "bar", orientation: "h", y: used.map((d) => labelFor(d.label)), x: used.map((d) => 100 * d.utilisation),
    text: used.map((d) => `${(100 * d.utilisation).toFixed(0)}% · ${d.uses} ${t("times_used")}`), textposition: "auto",
    marker: { color: used.map((d) => (d.utilisation > 0.8 ? "#b71c1c" : d.utilisation > 0.5 ? "#f0a500" : "#1b7f3b")) },
  }], { margin: { t: 10, r: 10, b: 40, l: 160 }, height: 60 + 28 * Math.max(used.length, 1),
    xaxis: { range: [0, 100], ticksuffix: "%" } }, CHART);
  const waited = served.filter((d) => d.wait_mean_s > 0).sort((a, b) => b.wait_mean_s * b.uses - a.wait_mean_s * a.uses).slice(0, 5);
  Plotly.react("waits-chart", waited.map((d) => ({
    type: "scatter", mode: "lines+markers", name: labelFor(d.label), x: hours, y: d.wait_by_hour_s.map((w) => (w === null ? null : w / 60)),
  })), { ...small, yaxis: { rangemode: "tozero", title: { text: t("minutes") } }, legend: { orientation: "h" },
    annotations: waited.length ? [] : [{ text: t("no_waits"), showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }] }, CHART);
}

function duration(seconds) {
  return seconds < 120 ? `${seconds.toFixed(0)} ${t("seconds")}` : `${(seconds / 60).toFixed(1)} ${t("minutes")}`;
}

function drawPlan() {
  // Metres to the SVG's units (1 m = 100); a row below the floor holds devices the scenario did not place.
  const plan = state.plan;
  const svg = document.getElementById("plan");
  const below = plan.devices.some((d) => !d.placed) ? 160 : 80;
  svg.setAttribute("viewBox", `-80 -60 ${plan.width_m * 100 + 160} ${plan.depth_m * 100 + 60 + below}`);
  svg.querySelectorAll("g, rect.floor, text.occupancy").forEach((node) => node.remove());
  const floor = document.createElementNS(SVG_NS, "rect");
  Object.entries({ class: "floor", x: 0, y: 0, width: plan.width_m * 100, height: plan.depth_m * 100, rx: 8 })
    .forEach(([k, v]) => floor.setAttribute(k, v));
  svg.appendChild(floor);
  const inside = document.createElementNS(SVG_NS, "text");
  Object.entries({ class: "occupancy", id: "plan-occupancy", x: 0, y: -16 })
    .forEach(([k, v]) => inside.setAttribute(k, v));
  svg.appendChild(inside);
  plan.devices.forEach((spot) => {
    const g = document.createElementNS(SVG_NS, "g");
    g.id = `spot-${spot.id}`;
    g.dataset.device = spot.id;
    g.setAttribute("class", "spot");
    g.setAttribute("transform", `translate(${spot.x_m * 100} ${spot.y_m * 100})`);
    g.setAttribute("tabindex", "0");
    g.innerHTML = `<rect x="-62" y="-34" width="124" height="68" rx="10"></rect>
      <text class="name" y="-8" text-anchor="middle"></text><text class="status" y="20" text-anchor="middle"></text>`;
    g.addEventListener("click", () => showDevice(spot.id));
    g.addEventListener("keydown", (event) => { if (event.key === "Enter") showDevice(spot.id); });
    svg.appendChild(g);
  });
  Object.values(state.devices).forEach(renderSpot);
}

function fit(text, value) {
  // A long name is squeezed into its box rather than spilling over the next device.
  text.textContent = value;
  text.removeAttribute("textLength");
  if (text.getComputedTextLength && text.getComputedTextLength() > 116) {
    text.setAttribute("textLength", 116);
    text.setAttribute("lengthAdjust", "spacingAndGlyphs");
  }
}

function renderSpot(device) {
  const g = document.getElementById(`spot-${device.id}`);
  const spot = state.plan && state.plan.devices.find((d) => d.id === device.id);
  if (!g || !spot) return;
  const r = device.reported;
  let status = "";
  let level = "idle";
  if (device.available === false) { status = t("offline"); level = "offline"; }
  else if (r.busy !== undefined && spot.units) {
    status = `${r.busy}/${spot.units}${r.queue ? ` · ${t("queue")} ${r.queue}` : ""}`;
    level = r.queue ? "queued" : r.busy >= spot.units ? "full" : r.busy > 0 ? "busy" : "idle";
  } else if (r.on !== undefined) {
    status = `${t(r.on ? "on" : "off")}${r.indoor_temp_c !== undefined ? ` ${Number(r.indoor_temp_c).toFixed(1)} °C` : ""}`;
    level = r.on ? "on" : "idle";
  } else if (r.occupancy !== undefined) { status = `${r.occupancy} ${t("people")}`; level = r.occupancy ? "busy" : "idle"; }
  else if (r.self_test_ok !== undefined) { status = r.self_test_ok ? "OK" : "!"; level = r.self_test_ok ? "idle" : "queued"; }
  g.setAttribute("class", `spot ${level}${spot.placed ? "" : " unplaced"}`);
  fit(g.querySelector("text.name"), labelFor(spot.label));
  fit(g.querySelector("text.status"), status);
  const title = g.querySelector("title") || g.appendChild(document.createElementNS(SVG_NS, "title"));
  title.textContent = `${spot.label}${spot.placed ? "" : ` (${t("not_placed")})`}`;
  if (device.kind === "door") {
    document.getElementById("plan-occupancy").textContent = r.occupancy !== undefined ? `${t("occupancy")} ${r.occupancy}` : "";
  }
}

async function drawOccupancy() {
  const door = Object.values(state.devices).find((d) => d.kind === "door");
  if (!door || !window.Plotly) return;
  drawLastDay("occupancy-chart", await (await api("GET", `/api/devices/${door.id}/history?field=occupancy&hours=24`)).json(), 260);
}

document.getElementById("login-form").addEventListener("submit", signIn);
document.getElementById("password-form").addEventListener("submit", changePassword);
document.getElementById("staff-form").addEventListener("submit", addStaff);
document.getElementById("run-form").addEventListener("submit", startRun);
document.getElementById("audit-filter").addEventListener("submit", (event) => { event.preventDefault(); loadAudit(); });
document.getElementById("audit-older").addEventListener("click", () => loadAudit(true));
document.getElementById("runs").addEventListener("click", (event) => {
  const button = event.target.closest("button.cancel-run");
  if (button) cancelRun(button.dataset.run);
});
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
  location.reload();
});
applyLanguage();
(async () => {
  const me = await fetch("/api/auth/me", { credentials: "same-origin" });
  // A quick sign-in can beat this first check: then the page is already running and stays so.
  if (me.ok && !state.started) await start(await me.json()); else if (!state.started) showLogin();
})();
