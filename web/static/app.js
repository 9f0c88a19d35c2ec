// The operator view: devices live over the feed, commands with their fate, the alarm queue.
"use strict";

const state = {
  lang: localStorage.getItem("yxy-lang") || "zh",
  devices: {}, alarms: [], lastSeq: 0,
};
const SHOWN = ["on", "busy", "queue", "indoor_temp_c", "mode", "setpoint_c", "occupancy", "charged", "temp_c", "level_l", "free"];
const t = (key) => (TEXT[state.lang] && TEXT[state.lang][key]) || key;
// A catalog text with its {placeholders} filled: tf("manual_until", { time: "14:30" }).
const tf = (key, values) => t(key).replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
// Everything a device, a scenario file or a user typed is escaped before it becomes HTML.
const esc = (value) => String(value ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);
const CHART = { displaylogo: false, responsive: true, displayModeBar: false };  // no toolbar over the bars' labels on a phone
// Scenario labels are often bilingual ("微波炉 Microwave"): show the half in the page's language.
const BILINGUAL = /^(\S*[\u3400-\u9fff]\S*)\s+([\x20-\x7e]+)$/;
const labelFor = (label) => { const m = BILINGUAL.exec(label || ""); return m ? m[state.lang === "zh" ? 1 : 2] : label; };
// A scenario's title is bilingual the other way: "夏季高温周 / Summer heat-wave week" (scenarios.i18n.in_language).
const titleFor = (title) => {
  const halves = String(title || "").split(" / ");
  return halves.length === 2 && halves.every((h) => h.trim()) ? halves[state.lang === "zh" ? 0 : 1].trim() : labelFor(title);
};
const deviceName = (id) => {
  if (id.startsWith("supplies:")) return labelFor(state.supplyLabels?.[id.slice(9)] || id.slice(9));  // a stock alarm's item
  const spot = state.plan && state.plan.devices.find((d) => d.id === id);
  return spot ? labelFor(spot.label) : id;
};
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
// A wall time typed at the station ("2026-12-08T08:00", a datetime-local input) as the instant it names, in ISO 8601:
// the input knows only the browser's zone, and a custodian abroad or a phone set to UTC still means the station's.
function fromStationWall(value) {
  const [y, mo, d, h, mi] = value.split(/[-T:]/).map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  const offset = (moment) => {  // the station's offset from UTC at `moment`, in ms
    const p = stationParts(moment);
    return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour) % 24, Number(p.minute)) - moment;
  };
  // The offset at the wall digits read as UTC is a first guess; across a daylight-saving change it is the other side's,
  // so it is taken again at the instant the first guess gives.
  const first = wall - offset(wall);
  return new Date(wall - offset(first)).toISOString();
}
// "14:05:09", or "2026-12-02 14:05:09" with the day: the same digits in either language.
function stationTime(moment, withDay = false) {
  const p = stationParts(moment);
  return `${withDay ? `${p.year}-${p.month}-${p.day} ` : ""}${p.hour}:${p.minute}:${p.second}`;
}
// Plotly draws a date string as written, ignoring any offset: hand it the station's wall time.
const stationWall = (moment) => stationTime(moment, true);
// The station's clock: the wall's, or in an emulated demo the crowd's, running `speed` times faster. The server says
// what time it is there as the plan leaves it; the page runs that clock on from its own monotonic time.
function stationNow() {
  const clock = state.clock;
  return clock ? clock.at + (performance.now() - clock.read) * clock.speed : Date.now();
}
function tickClock() {
  clearTimeout(state.clockTimer);
  const shown = document.getElementById("station-clock");
  if (!shown || !state.clock) return;
  const p = stationParts(stationNow());
  const speed = state.clock.emulated ? ` <em>${esc(tf("emulated_at", { speed: state.clock.speed }))}</em>` : "";
  shown.innerHTML = `${esc(t("station_clock"))} <time>${p.month}-${p.day} ${p.hour}:${p.minute}</time>${speed}`;
  state.clockTimer = setTimeout(tickClock, Math.max(250, 60000 / state.clock.speed));  // a new minute at its pace
}

function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  if (state.connection) showConnection(state.connection);
  tickClock();
  renderDevices();
  renderAlarms();
  if (state.plan) {
    // What was drawn from the server's answers is drawn again in the new language.
    fillDeviceFilter();
    if (document.getElementById("closed-alarms").open) loadClosedAlarms();
    loadDoorLog();
    if (readsMembers(state.me.role)) { loadMembers(); loadVisitors(); loadFunds(); loadComplaints(); }
    loadSupplies();
    loadStars();
    loadDuties();
    loadRuns();
    fillLibrary();
    labelValues();
    if (state.runError) showRunError(state.runError);
    if (state.detail) showDevice(state.detail, false);
    if (["admin", "auditor"].includes(state.me.role)) loadAudit();
  }
  if (state.today) drawToday(state.today);
  if (state.me) {
    showWho(state.me);
    if (state.me.role === "admin") loadStaff();
  }
}

// A name (a person's, a device's, a scenario's) is shown as it was given, in any language: marked translate="no", which
// is also what the language test skips.
const named = (value) => `<span translate="no">${esc(value)}</span>`;

function showWho(me) {
  document.getElementById("who").innerHTML = `${named(me.display_name)} (${esc(t("role_" + me.role))})`;
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
  if (!response.ok) { error.textContent = `${t("bad_login")}: ${refusal(response.status, await response.json().catch(() => ({})))}`; return; }
  const me = await response.json();  // the session is in an HttpOnly cookie: this page never holds the token
  error.textContent = "";
  await start(me);
}

async function start(me) {
  state.started = true;
  state.me = me;
  showWho(me);
  // Controls a role may not use are not shown (the server refuses them anyway).
  document.body.dataset.role = me.role;
  document.getElementById("run-form").hidden = me.role === "auditor";
  document.getElementById("staff").hidden = me.role !== "admin";
  document.getElementById("audit").hidden = !["admin", "auditor"].includes(me.role);
  document.getElementById("members").hidden = !readsMembers(me.role);
  document.getElementById("member-form").hidden = !keepsMembers(me.role);
  if (readsMembers(me.role)) loadMembers();
  document.getElementById("visitors").hidden = !readsMembers(me.role);
  document.getElementById("funds").hidden = !readsMembers(me.role);  // the books: custodian proposes, officer decides, auditor reads
  document.getElementById("funds-form").hidden = !keepsMembers(me.role);
  if (readsMembers(me.role)) {
    loadVisitors();
    state.visitorsTimer ??= setInterval(loadVisitors, 5000);  // a visitor waits at the door: a new ask shows within 5 s
  }
  state.plan = await (await api("GET", "/api/station/plan")).json();  // its time zone dates everything below
  if (readsMembers(me.role)) loadFunds();
  document.getElementById("complaints").hidden = !readsMembers(me.role);
  if (readsMembers(me.role)) {
    loadComplaints();
    state.complaintsTimer ??= setInterval(loadComplaints, 60000);  // a new complaint shows within a minute
  }
  document.getElementById("supplies").hidden = false;
  document.getElementById("supply-form").hidden = me.role === "auditor";
  loadSupplies();
  state.suppliesTimer ??= setInterval(loadSupplies, 30000);
  loadStars();
  state.starsTimer ??= setInterval(loadStars, 300000);  // figures of a month move slowly
  document.getElementById("duties").hidden = false;
  document.getElementById("incident-form").hidden = me.role === "auditor";
  loadDuties();
  state.dutiesTimer ??= setInterval(loadDuties, 60000);  // a check falls due, a shift changes, another reports
  if (state.plan.sms && readsMembers(me.role)) loadMembers();  // with the "send by SMS" buttons the plan allows
  const { now, speed, emulated } = state.plan.clock;
  state.clock = { at: Date.parse(now), read: performance.now(), speed, emulated };
  if (!document.getElementById("station-clock")) {
    const shown = document.createElement("span");
    shown.id = "station-clock";
    document.querySelector("header .tools").prepend(shown);
  }
  tickClock();
  if (me.role === "admin") loadStaff();
  if (["admin", "auditor"].includes(me.role)) loadAudit();
  document.getElementById("login").hidden = true;
  document.getElementById("station").hidden = false;
  document.getElementById("logout").hidden = false;
  await loadDevices();
  await loadAlarms();
  state.agesTimer ??= setInterval(refreshAges, 60000);  // once, however often someone signs in again
  fillDeviceFilter();
  drawPlan();
  renderDevices();
  await loadDoorLog();  // before the feed: its live entries go on top of the history, never under a reload of it
  connectFeed();
  // Who came in just before the devices were read is in neither: the feed resumes after them, and the history writes
  // every 2 s. The log is read once more when the history has caught up.
  clearTimeout(state.doorLogTimer);
  state.doorLogTimer = setTimeout(loadDoorLog, 2500);
  drawOccupancy();
  loadToday();
  state.library = await (await api("GET", "/api/runs/library")).json();
  fillLibrary();
  document.getElementById("scenario-choice").onchange = showValues;
  await showValues();
  loadRuns();
}

function fillLibrary() {
  // The library by title, in the page's language; what was chosen stays chosen on a switch.
  const choice = document.getElementById("scenario-choice");
  const chosen = choice.value;
  choice.innerHTML = (state.library || []).map((s) => `<option value="${esc(s.name)}" translate="no">${esc(titleFor(s.title))}</option>`).join("");
  if (chosen) choice.value = chosen;
}

async function showValues() {
  // The scenario's values as a form: what a planner changes most (crowd size, how many of each device).
  const name = document.getElementById("scenario-choice").value;
  const summary = await (await api("GET", `/api/runs/library/${name}`)).json();
  state.labels = summary.labels;  // the scenario's devices, which need not be this station's
  const fields = [["population.workers", summary.workers], ...Object.entries(summary.units).map(([id, units]) => [`devices.${id}.units`, units])];
  const box = document.getElementById("scenario-values");
  box.innerHTML = fields.map(([key, value]) =>
    `<label><span data-for="${esc(key)}"></span><input type="number" min="0" data-key="${esc(key)}" data-default="${esc(value)}" value="${esc(value)}"></label>`).join("");
  labelValues();
  box.dataset.scenario = name;
  document.querySelector("#run-form input[name=replications]").value = Math.min(summary.replications, 5);
}

function labelValues() {
  // "Microwaves (units)", in the page's language; again on a switch, without touching what the planner typed.
  document.querySelectorAll("#scenario-values span[data-for]").forEach((span) => {
    const device = /^devices\.(.+)\.units$/.exec(span.dataset.for);
    span.textContent = device ? `${t("units_of")}${labelFor((state.labels || {})[device[1]] || deviceName(device[1]))}` : t("workers");
  });
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
  showRunError(response.ok ? null : { status: response.status, body: await response.json().catch(() => ({})) });
  loadRuns();
}

function showRunError(refused) {
  // Every mistake of a scenario at once, each on its line of the file (or with the override that wrote it); kept to be
  // said again in the other language on a switch.
  state.runError = refused;
  const box = document.getElementById("run-error");
  if (!refused) { box.textContent = ""; return; }
  const { status, body } = refused;
  if (body.code !== "invalid_scenario") { box.textContent = refusal(status, body); return; }
  const items = body.params.problems.map((p) => {
    const where = p.override ? tf("by_override", { override: p.override }) : p.line ? tf("at_line", { line: p.line }) : "";
    const words = t(`scenario_problem_${p.code}`);
    const what = words === `scenario_problem_${p.code}` ? `<span translate="no" lang="en">${esc(p.message)}</span>` : esc(tf(`scenario_problem_${p.code}`, p.params));
    return `<li>${where ? `<b>${esc(where)}</b> ` : ""}${p.key ? `<code translate="no">${esc(p.key)}</code> ` : ""}${what}</li>`;
  });
  box.innerHTML = `<span>${esc(tf("problem_invalid_scenario", body.params))}</span><ul class="problems">${items.join("")}</ul>`;
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
    for (const which of ["input.pick", "input.baseline"]) {  // a pick and the baseline survive
      if (shown?.querySelector(`${which}:checked`)) row.querySelector(which)?.setAttribute("checked", "");
    }
    return row;
  });
  list.replaceChildren(...rows);
  list.querySelectorAll("li.run.done .verdict-slot:empty").forEach(showVerdict);
  if (runs.some((r) => r.status === "queued" || r.status === "running")) setTimeout(loadRuns, 1000);
}

function runRow(r) {
  // "#3 夏季高温周 · 微波炉 2 → 1 台": a run by its scenario's title and what it changed, never by file names and keys.
  const changes = (r.changes[state.lang] || []).map((c) => ` · ${named(c)}`).join("");
  const done = r.status === "done";
  const picks = done ? `<input type="checkbox" class="pick" value="${r.id}" aria-label="${esc(t("compare"))} #${r.id}">
    <label class="baseline"><input type="radio" class="baseline" name="baseline" value="${r.id}">${esc(t("baseline"))}</label>` : "";
  return `${picks}<span class="run-name"><b>#${r.id}</b> ${named(titleFor(r.title))}${changes}</span> <span class="status">${t(r.status)}</span>
    <progress max="${r.replications}" value="${r.done_replications}"></progress>
    ${done ? `<a target="_blank" href="/api/runs/${r.id}/report?lang=${state.lang}">${t("report")}</a><div class="verdict-slot" data-run="${r.id}"></div>` : ""}
    ${mayCancel(r) ? `<button type="button" class="cancel-run" data-run="${r.id}">${t("cancel_run")}</button>` : ""}
    ${r.error ? `<small class="error">${esc(r.error)}</small>` : ""}`;
}

function mayCancel(run) {
  // As the server decides: a waiting run, by its owner or an admin.
  const waiting = run.status === "queued" || run.status === "running";
  return waiting && (state.me.role === "admin" || (state.me.role === "operator" && run.username === state.me.username));
}

async function showVerdict(slot) {
  // The report's own verdict box (server-rendered from its template, escaped there), fetched once per run and language.
  const key = `${slot.dataset.run}:${state.lang}`;
  state.verdicts ??= {};
  state.verdicts[key] ??= api("GET", `/api/runs/${slot.dataset.run}/verdict?lang=${state.lang}`).then((r) => (r.ok ? r.text() : ""));
  slot.innerHTML = await state.verdicts[key];
}

async function cancelRun(id) {
  const response = await api("POST", `/api/runs/${id}/cancel`);
  showRunError(response.ok ? null : { status: response.status, body: await response.json().catch(() => ({})) });
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
  let silenced = false;
  const heard = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => { silenced = true; showConnection("feed_silent"); socket.close(); }, FEED_SILENT_MS);
  };
  // After a silence, an open socket is not yet proof: the banner goes when the server is heard (its heartbeat, ≤ 5 s).
  socket.onopen = () => { heard(); if (state.connection !== "feed_silent") showConnection(null); };
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
    showConnection(!me ? "server_gone" : silenced ? "feed_silent" : "feed_down");
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
  else if (change.name === "door_decided") {
    // Shown at once as "a member" or "a visitor"; the member's name comes from the server (the feed carries only a
    // visit key) once the history has it, so the log is read again a moment later.
    const entry = { at: change.at, event: change.name, ...change.data };
    document.getElementById("door-log").insertAdjacentHTML("afterbegin", doorLine(entry));
    clearTimeout(state.doorLogTimer);
    state.doorLogTimer = setTimeout(loadDoorLog, 2500);
    if (change.data.via === "visitor" && readsMembers(state.me.role)) loadVisitors();
  }
  else if (change.name === "desired" && device) { desired(device, change); renderDevice(device); }
  else if ((change.name === "command_acked" || change.name === "command_failed") && device) {
    // Whoever sent it (this page, another operator, a rule): the feed says it was desired before it says its fate.
    const last = device.last_command;
    if (last && last.id === change.data.command) {
      last.state = change.name === "command_acked" ? "acked" : "failed";
      last.error = change.data.error || null;
      renderDevice(device);
    }
  } else if (change.name === "manual_hold") { refreshDevice(change.data.device); }
  else if (change.name.startsWith("alarm_")) { loadAlarms(); }
  renderSummary();
}

function desired(device, change) {
  // A new command (by a person or a rule, with the rule's reason), one revised by the device's actor, or fields settled.
  const data = change.data;
  if (data.cleared) { data.cleared.forEach((key) => delete device.desired[key]); return; }
  Object.assign(device.desired, data.desired);
  const last = device.last_command;
  if (data.revised && last && last.id === data.command) { last.fields = data.desired; return; }
  device.last_command = { id: data.command, by: data.by, reason: data.reason || null, fields: data.desired, at: change.at, state: "pending" };
}

async function refreshDevice(id) {
  // A hold began (someone's command outranks the rules for a while): the server dates it on the station's clock.
  const answer = await api("GET", `/api/devices/${encodeURIComponent(id)}`);
  if (!answer.ok) return;
  const fresh = await answer.json();
  const device = state.devices[id];
  if (device) { device.manual_until = fresh.manual_until; renderDevice(device); }
}

function commandLine(command) {
  // "Automatic (lights by occupancy and daylight): nobody inside · carried out", or "sent by wang · pending".
  const [source, name] = String(command.by).split(/:(.*)/s);
  const why = command.reason ? tf(`why_${command.reason.why}`, command.reason) : "";
  const who = source === "automation"
    ? tf("command_by_automation", { rule: known(`rule_${name}`, name), why })
    : tf("command_by_person", { who: name || source });
  const error = command.state === "failed" && command.error ? ` (${failure(command.error)})` : "";
  return `${who} · ${t(command.state)}${error}`;
}

// Why a command failed, as the bridge words it (docs/mqtt.md), in the page's language; a device's own words as given.
const FAILURES = [
  [/^no acknowledgement within ([\d.]+) s$/, "fail_no_ack"], [/^refused by the device's actor$/, "fail_refused"],
  [/^the bridge is offline/, "fail_offline"], [/^the device's actor failed/, "fail_actor"],
];
function failure(error) {
  for (const [pattern, key] of FAILURES) {
    const found = pattern.exec(error);
    if (found) return tf(key, { seconds: found[1] });
  }
  return error;
}

function holdLine(device) {
  // "manual until 14:30" while a person's command holds the device against its rule, on the station's clock.
  if (!device.manual_until || Date.parse(device.manual_until) <= stationNow()) return "";
  const p = stationParts(device.manual_until);
  return `<p class="manual">${esc(tf("manual_until", { time: `${p.hour}:${p.minute}` }))}</p>`;
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
  const last = device.last_command;
  // A power switch on every device whose kind obeys "on" (its registry entry says so, through the API).
  const control = device.settable && "on" in device.settable && canOperate()
    ? `<button type="button" class="switch" data-device="${device.id}">${device.reported.on ? t("switch_off") : t("switch_on")}</button>`
    : "";
  const html = `<h3>${named(deviceName(device.id))}${device.available === false ? ` <em>${t("offline")}</em>` : ""}</h3>
    <ul>${fields}</ul>${control}${last ? `<p class="command ${esc(last.state)}" data-command="${esc(last.id)}">${esc(commandLine(last))}</p>` : ""}${holdLine(device)}`;
  // Rebuilt only when what it shows has changed: a busy station's feed must not pull the switch from under a finger.
  if (card.dataset.html !== html) {
    card.innerHTML = html;
    card.dataset.html = html;
  }
  const button = card.querySelector("button.switch");
  if (button) button.onclick = (event) => { event.stopPropagation(); command(device, { on: !device.reported.on }); };
  card.onclick = () => showDevice(device.id);
  if (state.detail === device.id) renderDetail();
  renderSpot(device);
}

function format(key, value) {
  // A reported value as a person reads it: with its unit, to a sensible precision ("77 %", not 0.7754).
  if (typeof value === "boolean") return key === "on" ? t(value ? "on" : "off") : t(value ? "yes" : "no");
  if (key === "mode") return t(`mode_${value}`);
  if (value === null || value === undefined) return "–";
  if (Array.isArray(value)) return value.map((item) => format(key, item)).join(", ");
  if (typeof value !== "number") return value;
  if (key.endsWith("_c")) return `${value.toFixed(1)} °C`;
  if (key === "level_l") return `${value.toFixed(1)} L`;
  if (key === "mean_soc" || key === "soc") return `${(100 * value).toFixed(0)} %`;
  if (key.endsWith("_pct")) return `${value.toFixed(0)} %`;
  if (key.endsWith("_kwh")) return `${value.toFixed(1)} kWh`;
  if (key.endsWith("_kw")) return `${value.toFixed(2)} kW`;
  if (key.endsWith("_w")) return `${value.toFixed(0)} W`;
  return Number.isInteger(value) ? value : value.toFixed(2);
}

async function command(device, fields) {
  // Its progress comes over the feed (desired, then acked or failed), like anyone else's command.
  const response = await api("POST", `/api/devices/${device.id}/commands`, { set: fields });
  if (response.ok) return;
  const note = document.getElementById("detail-command");
  const text = refusal(response.status, await response.json().catch(() => ({})));
  if (note && state.detail === device.id) { note.className = "command failed"; note.textContent = text; }
  else alert(text);
}

function refusal(status, body) {
  // Why the server said no, in the page's language: by its catalog code if it has one, else by its status.
  const words = body && body.code ? t(`problem_${body.code}`) : null;
  if (words && words !== `problem_${body.code}`) {
    const params = { ...(body.params || {}) };
    if (params.role) params.role = t(`role_${params.role}`);
    if (params.place && t(`place.${params.place}`) !== `place.${params.place}`) params.place = t(`place.${params.place}`);
    if (params.unit) params.unit = labelFor(params.unit);
    if (Array.isArray(params.problems) && body.code.startsWith("member_")) params.problems = memberProblems(params.problems);
    return tf(`problem_${body.code}`, params);
  }
  const known = { 403: "refused_role", 404: "refused_missing", 409: "refused_conflict", 422: "refused_invalid", 429: "refused_busy", 503: "refused_unavailable" };
  const detail = body && body.detail ? detailOf(body) : "";
  return known[status] ? `${t(known[status])}${status === 422 && detail ? `: ${detail}` : ""}` : detail || `HTTP ${status}`;
}

async function loadAlarms() {
  const before = new Set(state.alarms.map((a) => a.id));
  state.alarms = await (await api("GET", "/api/alarms")).json();
  if (state.alarms.some((a) => a.severity === "critical" && a.state === "raised" && !before.has(a.id)) && state.alarmsLoaded) ring();
  state.alarmsLoaded = true;
  renderAlarms();
  renderSummary();
}

function ring() {
  // A new critical alarm: the phone vibrates and the page beeps, where the browser allows (after a tap on the page).
  if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
  const audio = state.audio;
  if (!audio || audio.state !== "running") return;
  const tone = audio.createOscillator();
  const gain = audio.createGain();
  gain.gain.setValueAtTime(0.2, audio.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.8);
  tone.frequency.value = 880;
  tone.connect(gain).connect(audio.destination);
  tone.start();
  tone.stop(audio.currentTime + 0.8);
}

function minutesText(seconds) {
  const minutes = Math.max(0, Math.floor(seconds / 60));
  return minutes < 60 ? `${minutes} ${t("minutes")}` : `${Math.floor(minutes / 60)} ${t("hour")} ${minutes % 60} ${t("minutes")}`;
}

function ageText(moment) {
  // How long ago, on the wall's clock (alarms are real moments, also in an emulated demo).
  const minutes = Math.floor((Date.now() - Date.parse(moment)) / 60000);
  if (minutes < 1) return t("age_now");
  return minutes < 60 ? tf("age_minutes", { minutes }) : tf("age_hours", { hours: Math.floor(minutes / 60), minutes: minutes % 60 });
}

function whoText(who) {
  if (who === "automations") return t("by_automations");
  if (who === "system") return t("by_system");
  return String(who).split(":").pop();
}

function limitText(field, limit) {
  return limit === "today" ? t("the_day_today") : format(field, limit);
}

function reasonText(alarm) {
  // "Water tank below 5.0 L (now 3.2 L), for 10 minutes": the rule's condition, said, with what the device says now.
  const reason = alarm.reason;
  if (!reason) return alarm.detail || "";
  const lasting = reason.for_s > 0 ? ` · ${tf("held_for", { time: minutesText(reason.for_s) })}` : "";
  if (!reason.field) return `${t("reason_offline")}${lasting}`;
  const name = fieldName(reason.field);
  const condition = typeof reason.limit === "boolean" && reason.op === "=="
    ? `${name}: ${format(reason.field, reason.limit)}`
    : `${name} ${t(OPS[reason.op] || reason.op)} ${limitText(reason.field, reason.limit)}`;
  const now = reason.now === null || reason.now === undefined ? "" : ` (${t("now_value")} ${format(reason.field, reason.now)})`;
  return `${condition}${now}${lasting}`;
}

const OPS = { "<": "op_lt", "<=": "op_le", ">": "op_gt", ">=": "op_ge", "==": "op_eq", "!=": "op_ne" };

function threadHtml(steps) {
  return `<ol class="thread">${steps.map((s) => `<li><time datetime="${esc(s.at)}">${stationTime(s.at, true)}</time>
    <b>${esc(whoText(s.who))}</b> ${esc(known(`step_${s.state}`, s.state))}${s.note && s.state !== "raised" ? `: ${named(s.note)}` : ""}</li>`).join("")}</ol>`;
}

function alarmHead(alarm) {
  const repeats = alarm.count > 1 ? ` <span class="count">×${alarm.count}</span>` : "";
  return `<p class="head"><span class="severity">${esc(known(`severity_${alarm.severity}`, alarm.severity))}</span>
    <b>${named(deviceName(alarm.source))}</b> ${esc(known(`alarm_${alarm.type}`, alarm.type))}${repeats}</p>`;
}

function renderAlarms() {
  // One card per alarm: what, since when and how long, why, what to do, who has it, and everything done so far.
  const list = document.getElementById("alarms");
  if (!list) return;
  document.getElementById("no-alarms").hidden = state.alarms.length > 0;
  // What a custodian is typing survives a redraw (another alarm's change, a language switch), focus included.
  const typed = {};
  list.querySelectorAll("li.alarm").forEach((item) => {
    const form = item.querySelector("form.alarm-actions");
    if (form) typed[item.dataset.alarm] = { assignee: form.elements.assignee.value, note: form.elements.note.value };
  });
  const focused = document.activeElement && list.contains(document.activeElement)
    ? [document.activeElement.closest("li.alarm").dataset.alarm, document.activeElement.name] : null;
  list.replaceChildren(...state.alarms.map((alarm) => {
    const item = document.createElement("li");
    item.className = `alarm ${alarm.severity} ${alarm.state}`;
    item.dataset.alarm = alarm.id;
    const advice = known(`alarm_advice_${alarm.type}`, "");
    const assignee = alarm.assignee ? ` · <span class="assignee">${esc(tf("assigned_to", { who: alarm.assignee }))}</span>` : "";
    item.innerHTML = `${alarmHead(alarm)}
      <p class="when"><time datetime="${esc(alarm.raised_at)}">${stationTime(alarm.raised_at, true)}</time>
        · <span class="age">${esc(ageText(alarm.raised_at))}</span> · <span class="state">${esc(t(alarm.state))}</span>${assignee}</p>
      <p class="reason">${esc(reasonText(alarm))}</p>${advice ? `<p class="advice">${esc(advice)}</p>` : ""}
      ${threadHtml(alarm.steps)}`;
    if (canOperate() && CAMERA_BEHAVIOURS.has(alarm.type)) item.appendChild(whyPanel(alarm));
    if (canOperate()) {
      const form = item.appendChild(alarmActions(alarm));
      Object.assign(form.elements.assignee, { value: typed[alarm.id]?.assignee ?? "" });
      Object.assign(form.elements.note, { value: typed[alarm.id]?.note ?? "" });
    }
    return item;
  }));
  if (focused) list.querySelector(`li.alarm[data-alarm="${CSS.escape(focused[0])}"] [name="${CSS.escape(focused[1] || "")}"]`)?.focus();
}

// A camera's alarm says why: the blurred snapshot with the people's keypoints drawn over it, the score over time, and
// the custodian's verdict (a true or a false alarm), which trains the next models. Fetched when the custodian opens it;
// a redraw (another alarm's change re-renders every card) shows an open panel again from what was fetched.
const CAMERA_BEHAVIOURS = new Set(["fall", "smoking", "dispute"]);
const BONES = [[5, 7], [7, 9], [6, 8], [8, 10], [5, 6], [5, 11], [6, 12], [11, 12], [11, 13], [13, 15], [12, 14], [14, 16], [0, 5], [0, 6]];
state.evidence = new Map();  // alarm id -> its incidents as last fetched, while its panel is open

function whyPanel(alarm) {
  const panel = document.createElement("details");
  panel.className = "why";
  panel.innerHTML = `<summary>${esc(t("why_alarm"))}</summary><div class="evidence" aria-live="polite"></div>`;
  const where = panel.querySelector(".evidence");
  const kept = state.evidence.get(alarm.id);
  if (kept) {
    showEvidence(kept, where);
    panel.open = true;
  }
  panel.addEventListener("toggle", () => {
    if (!panel.open) state.evidence.delete(alarm.id);
    else if (!state.evidence.has(alarm.id)) loadEvidence(alarm, where);
  });
  return panel;
}

async function loadEvidence(alarm, where) {
  where.textContent = t("loading");
  try {
    const response = await api("GET", `/api/alarms/${encodeURIComponent(alarm.id)}/evidence`);
    if (!response.ok) { where.textContent = refusal(response.status, await response.json().catch(() => ({}))); return; }
    const incidents = await response.json();
    state.evidence.set(alarm.id, incidents);
    showEvidence(incidents, where);
  } catch (error) {
    where.textContent = t("refused_unavailable");  // signed out (the sign-in form is up) or the server gone
  }
}

function showEvidence(incidents, where) {
  if (!incidents.length) { where.textContent = t("no_evidence"); return; }
  where.replaceChildren(...incidents.map((incident) => incidentView(incident)));
}

function incidentView(incident) {
  const box = document.createElement("section");
  box.className = "incident";
  box.dataset.incident = incident.id;
  const [width, height] = incident.picture.length === 2 ? incident.picture : [448, 256];
  const figure = box.appendChild(document.createElement("figure"));
  figure.className = "snapshot";
  figure.style.aspectRatio = `${width} / ${height}`;
  if (incident.snapshot) {
    const photo = figure.appendChild(document.createElement("img"));
    Object.assign(photo, { src: `/api/evidence/${encodeURIComponent(incident.id)}/snapshot`, alt: t("snapshot_blurred"), loading: "lazy" });
  }
  figure.appendChild(skeletonOverlay(incident, width, height));
  const caption = figure.appendChild(document.createElement("figcaption"));
  caption.textContent = `${incident.snapshot ? t("snapshot_blurred") : t("no_snapshot")} · ${tf("peak_score", { score: incident.peak.toFixed(2) })}`;
  box.appendChild(scoreChart(incident));
  box.appendChild(verdictForm(incident));
  return box;
}

function skeletonOverlay(incident, width, height) {
  // Each person's last keypoints before the alarm, as lines between joints the pose model saw.
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "skeleton");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("keypoints_overlay"));
  const last = new Map();
  for (const frame of incident.keypoints) last.set(frame.track ?? 0, frame);
  for (const frame of last.values()) {
    const points = frame.keypoints;
    for (const [a, b] of BONES) {
      if (!points[a] || !points[b] || points[a][2] < 0.2 || points[b][2] < 0.2) continue;
      const line = svg.appendChild(document.createElementNS(SVG_NS, "line"));
      for (const [key, value] of Object.entries({ x1: points[a][0], y1: points[a][1], x2: points[b][0], y2: points[b][1] })) line.setAttribute(key, value);
    }
    const [x1, y1, x2, y2] = frame.box;
    const rect = svg.appendChild(document.createElementNS(SVG_NS, "rect"));
    for (const [key, value] of Object.entries({ x: x1, y: y1, width: x2 - x1, height: y2 - y1 })) rect.setAttribute(key, value);
  }
  return svg;
}

function scoreChart(incident) {
  // The smoothed score from 0 to 1 over the incident's time, in the station's clock: a small line, no chart library.
  const figure = document.createElement("figure");
  figure.className = "scores";
  const points = incident.scores.map((p) => [Date.parse(p.at), p.score]);
  const svg = figure.appendChild(document.createElementNS(SVG_NS, "svg"));
  svg.setAttribute("viewBox", "0 0 300 80");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("score_over_time"));
  if (points.length) {
    const first = points[0][0], span = Math.max(points[points.length - 1][0] - first, 1);
    const line = svg.appendChild(document.createElementNS(SVG_NS, "polyline"));
    line.setAttribute("points", points.map(([at, score]) => `${(5 + 290 * (at - first) / span).toFixed(1)},${(75 - 70 * score).toFixed(1)}`).join(" "));
  }
  const caption = figure.appendChild(document.createElement("figcaption"));
  caption.textContent = points.length
    ? `${t("score_over_time")}: ${stationTime(points[0][0])} – ${stationTime(points[points.length - 1][0])}`
    : t("score_over_time");
  return figure;
}

function verdictForm(incident) {
  const form = document.createElement("form");
  form.className = "verdict";
  const said = incident.verdict
    ? `<p class="said">${esc(tf("verdict_said", { verdict: t(`verdict_${incident.verdict.alarm}`), who: whoText(incident.verdict.by) }))}</p>` : "";
  form.innerHTML = `${said}<button type="button" data-alarm="true">${esc(t("verdict_true"))}</button>
    <button type="button" data-alarm="false">${esc(t("verdict_false"))}</button><p class="error" role="alert"></p>`;
  form.onsubmit = (event) => event.preventDefault();
  const buttons = form.querySelectorAll("button");
  buttons.forEach((button) => {
    button.onclick = async () => {
      buttons.forEach((b) => { b.disabled = true; });  // one tap, one verdict (and one audit entry)
      try {
        const response = await api("POST", `/api/evidence/${encodeURIComponent(incident.id)}/verdict`, { alarm: button.dataset.alarm });
        if (!response.ok) { form.querySelector(".error").textContent = refusal(response.status, await response.json().catch(() => ({}))); return; }
        const judged = await response.json();
        for (const incidents of state.evidence.values()) {
          const index = incidents.findIndex((i) => i.id === judged.id);
          if (index >= 0) incidents[index] = judged;  // a redraw shows the verdict, not the buttons again
        }
        form.replaceWith(verdictForm(judged));
      } catch (error) {
        form.querySelector(".error").textContent = t("refused_unavailable");
      } finally {
        buttons.forEach((b) => { b.disabled = false; });
      }
    };
  });
  return form;
}

function refreshAges() {
  // Once a minute, only the "12 min ago" of each card: nothing else is redrawn under the custodian's fingers.
  document.querySelectorAll("#alarms li.alarm").forEach((item) => {
    const alarm = state.alarms.find((a) => a.id === item.dataset.alarm);
    const age = item.querySelector(".age");
    if (alarm && age) age.textContent = ageText(alarm.raised_at);
  });
}

function alarmActions(alarm) {
  // Inline, not prompt(): a phone keeps the card in view while the custodian types.
  const form = document.createElement("form");
  form.className = "alarm-actions";
  form.innerHTML = `${alarm.state === "raised" ? `<button type="button" data-step="acknowledge">${esc(t("acknowledge"))}</button>` : ""}
    <input name="assignee" maxlength="64" placeholder="${esc(t("assign_to"))}" aria-label="${esc(t("assign_to"))}">
    <button type="button" data-step="assign">${esc(t("assign"))}</button>
    <input name="note" maxlength="500" placeholder="${esc(t("note_text"))}" aria-label="${esc(t("note_text"))}">
    <button type="button" data-step="note">${esc(t("add_note"))}</button>
    <button type="button" data-step="clear" class="close-alarm">${esc(t("close"))}</button>
    <p class="error" role="alert"></p>`;
  form.onsubmit = (event) => event.preventDefault();
  form.querySelectorAll("button[data-step]").forEach((button) => {
    button.onclick = async () => {
      const step = button.dataset.step;
      const body = { note: form.elements.note.value.trim() };
      if (step === "assign") body.assignee = form.elements.assignee.value.trim();
      const response = await api("POST", `/api/alarms/${encodeURIComponent(alarm.id)}/${step}`, body);
      if (!response.ok) { form.querySelector(".error").textContent = refusal(response.status, await response.json().catch(() => ({}))); return; }
      await loadAlarms();
      if (step === "clear") loadClosedAlarms();
    };
  });
  return form;
}

function stationMidnight(day) {
  // "2026-12-02" in the station's zone, as a moment: the browser's own zone plays no part.
  const guess = Date.parse(`${day}T00:00:00Z`);
  const p = stationParts(guess);
  const wall = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return new Date(guess - (wall - guess));
}

async function loadClosedAlarms() {
  const form = new FormData(document.getElementById("closed-filter"));
  const query = new URLSearchParams({ limit: 50 });
  for (const key of ["source", "severity"]) if (form.get(key)) query.set(key, form.get(key));
  if (form.get("since")) query.set("since", stationMidnight(form.get("since")).toISOString());
  const answer = await api("GET", `/api/alarms/closed?${query}`);
  const list = document.getElementById("closed-list");
  if (!answer.ok) { list.innerHTML = `<li class="error">${esc(refusal(answer.status, await answer.json().catch(() => ({}))))}</li>`; return; }
  const closed = await answer.json();
  document.getElementById("no-closed").hidden = closed.length > 0;
  list.innerHTML = closed.map((alarm) => `<li class="alarm ${esc(alarm.severity)} cleared" data-alarm="${esc(alarm.id)}">${alarmHead(alarm)}
    <p class="when"><time datetime="${esc(alarm.raised_at)}">${stationTime(alarm.raised_at, true)}</time> →
      <time datetime="${esc(alarm.cleared_at)}">${stationTime(alarm.cleared_at, true)}</time>
      · ${esc(tf("open_for", { time: minutesText((Date.parse(alarm.cleared_at) - Date.parse(alarm.raised_at)) / 1000) }))}</p>
    ${threadHtml(alarm.steps)}</li>`).join("");
}

function fillDeviceFilter() {
  const select = document.querySelector("#closed-filter select[name=source]");
  const chosen = select.value;
  select.innerHTML = `<option value="">${esc(t("all_devices"))}</option>${state.plan.devices.map((d) =>
    `<option value="${esc(d.id)}"${d.id === chosen ? " selected" : ""}>${esc(labelFor(d.label))}</option>`).join("")}`;
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
  message.textContent = response.ok ? t("password_changed") : refusal(response.status, await response.json().catch(() => ({})));
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
    <td translate="no">${esc(u.username)}</td><td>${named(u.display_name)}${u.active ? "" : ` (${t("inactive")})`}</td>
    <td><select class="role">${ROLES.map((r) => `<option value="${r}"${r === u.role ? " selected" : ""}>${t("role_" + r)}</option>`).join("")}</select></td>
    <td><button type="button" class="reset">${t("reset_password")}</button>
      <button type="button" class="standing" data-active="${u.active ? "false" : "true"}">${t(u.active ? "deactivate" : "activate")}</button></td></tr>`).join("");
  document.querySelectorAll("#staff-list tr").forEach((row) => {
    const change = async (fields) => {
      const response = await api("PATCH", `/api/users/${encodeURIComponent(row.dataset.user)}`, fields);
      const message = document.getElementById("staff-message");
      message.className = response.ok ? "" : "error";
      message.textContent = response.ok ? "" : refusal(response.status, await response.json().catch(() => ({})));
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
  message.textContent = response.ok ? `${t("added")}: ${form.username}` : refusal(response.status, await response.json().catch(() => ({})));
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
    <b translate="no">${esc(e.username)}</b> ${esc(known(`action_${e.action}`, e.action))} <small translate="no">${esc(auditTarget(e))}</small></li>`).join("");
  const list = document.getElementById("audit-list");
  list.innerHTML = older ? list.innerHTML + rows : rows;
  document.getElementById("audit-older").hidden = !state.auditBefore;
}

function showDevice(id, scroll = true) {
  state.detail = id;
  document.getElementById("device-detail").hidden = false;
  const device = state.devices[id];
  const numeric = Object.keys(device.reported).filter((k) => typeof device.reported[k] === "number");
  drawControls(device);
  document.getElementById("detail-field").innerHTML = numeric.map((k) => `<option value="${esc(k)}">${esc(fieldName(k))}</option>`).join("");
  renderDetail();
  drawDetail();
  if (scroll) document.getElementById("device-detail").scrollIntoView();
}

function drawControls(device) {
  // One input per field the device takes in a command (from the API), filled with what it wants or reports now.
  const form = document.getElementById("detail-controls");
  const fields = Object.entries(device.settable || {});
  form.hidden = !fields.length || !canOperate();
  form.innerHTML = fields.map(([name, spec]) => {
    // What the device reports, never a default: a form that acts by being pressed as it came (the door locked) lies.
    const now = device.reported[name];
    let input;
    if (spec.type === "boolean") {
      const [yes, no] = name === "on" ? ["on", "off"] : ["yes", "no"];
      const unknown = typeof now !== "boolean" ? `<option value="" selected>${t("unknown")}</option>` : "";
      input = `<select name="${esc(name)}">${unknown}<option value="true"${now === true ? " selected" : ""}>${t(yes)}</option>
        <option value="false"${now === false ? " selected" : ""}>${t(no)}</option></select>`;
    } else if (spec.enum) {
      const unknown = spec.enum.includes(now) ? "" : `<option value="" selected>${t("unknown")}</option>`;
      input = `<select name="${esc(name)}">${unknown}${spec.enum.map((v) =>
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
  document.getElementById("detail-title").innerHTML = `${named(deviceName(device.id))} <small translate="no">${esc(device.id)}</small>`;
  const rows = Object.entries(device.reported).map(([k, v]) =>
    `<dt>${esc(fieldName(k))}</dt><dd>${esc(format(k, v))}</dd>`);
  const wanted = Object.entries(device.desired || {}).map(([k, v]) => `<dt>${t("desired")} ${esc(fieldName(k))}</dt><dd>${esc(format(k, v))}</dd>`);
  document.getElementById("detail-fields").innerHTML = rows.concat(wanted).join("");
  const last = device.last_command;
  const note = document.getElementById("detail-command");
  if (note && last) { note.className = `command ${last.state}`; note.textContent = commandLine(last); }
}

async function drawDetail() {
  const field = document.getElementById("detail-field").value;
  if (!field) return;
  await loadPlotly();
  drawLastDay("detail-chart", await (await api("GET", `/api/devices/${state.detail}/history?field=${field}&hours=24`)).json(), 240);
}

// plotly.js (4.8 MB, 1.4 MB gzipped) is fetched the first time a chart is drawn, never before: the sign-in and the
// live station show without it. One promise for every chart; a failed load is forgotten so the next chart retries.
let plotlyLoading = null;
function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  plotlyLoading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = document.querySelector("meta[name=yxy-plotly]").content;  // its content-hashed URL, from the page
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => { plotlyLoading = null; script.remove(); reject(new Error(`plotly.js did not load from ${script.src}`)); };
    document.head.appendChild(script);
  });
  return plotlyLoading;
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
  const list = document.getElementById("door-log");
  // What the feed showed and the history has not written yet (it writes every 2 s) stays on top of what it has.
  const fetched = new Set(events.map(doorKey));
  const newest = events.length ? Date.parse(events[0].at) : 0;
  const pending = [...list.querySelectorAll("li[data-key]")]
    .filter((li) => !fetched.has(li.dataset.key) && Number(li.dataset.key.split("|").pop()) > newest);
  list.innerHTML = events.map(doorLine).join("");
  list.prepend(...pending);
}

const doorKey = (e) => `${e.event}|${e.worker ?? e.via}|${Date.parse(e.at)}`;

// A simulated crowd's worker is "riders.visits.17": shown as the 17th of the delivery riders, not as an id.
const SIMULATED_WORKER = /^[\w-]+\.[\w-]+\.(\d+)$/;

function doorLine(e) {
  if (e.event === "door_decided") return decisionLine(e);
  const numbered = SIMULATED_WORKER.exec(e.worker || "");
  const who = numbered ? esc(tf("visitor_number", { n: numbered[1] })) : named(e.worker);
  return `<li class="${esc(e.event)}" data-key="${esc(doorKey(e))}" title="${esc(e.worker)}"><time datetime="${esc(e.at)}">${stationTime(e.at)}</time>
    <b>${esc(t(e.event))}</b> ${who} <small>${esc(known(`group.${e.group}`, e.group))}</small></li>`;
}

// The door's verdicts on someone it knew as a member (actors/door_access.py); the pass's own refusals name nobody.
// A function, not a constant: it is hoisted, and the log may be drawn before the script's end is reached.
function memberVerdict(reason) {
  return ["member", "unknown_member", "deactivated", "banned", "no_face_consent", "face_not_sure", "full", "locked"].includes(reason);
}

function decisionLine(e) {
  // Whom the door let in or turned away, and why: a member by name for those who look after the station, else as "a member".
  // A pass refused before it named anyone (forged, replayed, expired) is only "a scanned code", not a member.
  const who = e.member_name ? named(e.member_name)
    : esc(t(e.via === "visitor" ? "door_visitor" : e.via === "face" || memberVerdict(e.reason) ? "door_member" : "door_code"));
  const verdict = e.admitted ? "door_admitted" : "door_refused";
  return `<li class="door_decided ${e.admitted ? "admitted" : "refused"}" data-key="${esc(doorKey(e))}"><time datetime="${esc(e.at)}">${stationTime(e.at)}</time>
    <b>${esc(t(verdict))}</b> ${who} <small>${esc(known(`door.${e.reason}`, e.reason))}</small></li>`;
}

function auditTarget(entry) {
  // A device's name for a command; a person's, a run's or an alarm's id as it is.
  return entry.action === "command" ? deviceName(entry.target) : entry.target;
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
  if (!window.Plotly) { loadPlotly().then(() => drawToday(today)); return; }  // drawn again once plotly.js is here
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
  state.spotWidth = spotWidth(plan.devices);
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
    g.innerHTML = `<rect x="${-state.spotWidth / 2}" y="-34" width="${state.spotWidth}" height="68" rx="10"></rect>
      <text class="name" y="-8" text-anchor="middle"></text><text class="status" y="20" text-anchor="middle"></text>`;
    g.addEventListener("click", () => showDevice(spot.id));
    g.addEventListener("keydown", (event) => { if (event.key === "Enter") showDevice(spot.id); });
    svg.appendChild(g);
  });
  Object.values(state.devices).forEach(renderSpot);
}

function spotWidth(spots) {
  // As wide as the closest two side by side allow (1.2 m apart along a wall: 110 units), at most 124.
  let closest = Infinity;
  for (const a of spots) {
    for (const b of spots) {
      if (a !== b && Math.abs(a.y_m - b.y_m) * 100 < 72) closest = Math.min(closest, Math.abs(a.x_m - b.x_m) * 100);
    }
  }
  return Math.max(72, Math.min(124, closest - 8));
}

function fit(text, value) {
  // A long name is squeezed into its box rather than spilling over the next device.
  text.textContent = value;
  text.removeAttribute("textLength");
  const room = state.spotWidth - 8;
  if (text.getComputedTextLength && text.getComputedTextLength() > room) {
    text.setAttribute("textLength", room);
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
  if (!door) return;
  await loadPlotly();
  drawLastDay("occupancy-chart", await (await api("GET", `/api/devices/${door.id}/history?field=occupancy&hours=24`)).json(), 260);
}

document.getElementById("login-form").addEventListener("submit", signIn);
document.getElementById("password-form").addEventListener("submit", changePassword);
document.getElementById("staff-form").addEventListener("submit", addStaff);
document.getElementById("run-form").addEventListener("submit", startRun);
document.getElementById("audit-filter").addEventListener("submit", (event) => { event.preventDefault(); loadAudit(); });
document.getElementById("audit-older").addEventListener("click", () => loadAudit(true));
document.getElementById("closed-filter").addEventListener("submit", (event) => { event.preventDefault(); loadClosedAlarms(); });
document.getElementById("closed-alarms").addEventListener("toggle", (event) => { if (event.target.open) loadClosedAlarms(); });
// Sound needs a tap on the page first (browsers' autoplay rule): the first one anywhere makes the alarm beep possible.
document.addEventListener("pointerdown", () => {
  if (!state.audio && window.AudioContext) state.audio = new AudioContext();
  state.audio?.resume();
}, { once: true });
document.getElementById("runs").addEventListener("click", (event) => {
  const button = event.target.closest("button.cancel-run");
  if (button) cancelRun(button.dataset.run);
});
document.getElementById("detail-field").addEventListener("change", drawDetail);
document.getElementById("detail-close").addEventListener("click", () => { state.detail = null; document.getElementById("device-detail").hidden = true; });
document.getElementById("compare").addEventListener("click", () => {
  // The planner says which run the others are measured against: the list is newest first, so no order would do.
  const baseline = document.querySelector("#runs input.baseline:checked")?.value;
  const others = [...document.querySelectorAll("#runs input.pick:checked")].map((box) => box.value).filter((id) => id !== baseline);
  if (!baseline || !others.length) { showRunError(null); document.getElementById("run-error").textContent = t("choose_baseline"); return; }
  const ids = [baseline, ...others].map((id) => `ids=${id}`).join("&");
  window.open(`/api/runs/compare?${ids}&baseline=${baseline}&lang=${state.lang}`, "_blank");
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

// ---- members (issue 12): the register for custodians and officers; auditors read; operators do not see it ----
// Declared as functions (hoisted): start() runs before the script's end is reached.
function readsMembers(role) { return ["custodian", "admin", "auditor"].includes(role); }
function keepsMembers(role) { return ["custodian", "admin"].includes(role); }
function memberProblems(problems) {
  return problems.map((p) => {
    const field = t(`member_col.${p.field}`);
    return `${field === `member_col.${p.field}` ? "" : `${field}: `}${tf(`member_problem_${p.code}`, p.params || {})}`;
  }).join("; ");
}

async function loadMembers(after = 0) {
  const q = document.getElementById("member-search").q.value;
  const response = await api("GET", `/api/members?${new URLSearchParams({ q, after, limit: 50 })}`);
  const list = document.getElementById("member-list");
  if (!response.ok) { document.getElementById("member-message").textContent = refusal(response.status, await response.json()); return; }
  const page = await response.json();
  if (!after) list.replaceChildren();
  const keeper = keepsMembers(state.me.role);
  for (const m of page.members) {
    const item = document.createElement("li");
    item.className = `status-${m.status}`;
    item.dataset.member = m.id;
    const until = m.status_until ? ` → ${stationTime(m.status_until, true)}` : "";
    item.innerHTML = `<strong>${named(m.name)}</strong> ${named(m.phone)} · ${esc(t(`group.${m.worker_group}`))}
      ${m.employer ? `· ${named(m.employer)}` : ""} · <span class="status">${esc(t(`member_status.${m.status}`))}${esc(until)}</span>
      · ${esc(t("member_col.face_consent"))}: <span class="consent">${esc(t(m.face_consent ? "member_consent_yes" : "member_consent_no"))}</span>
      ${keeper ? `<div class="actions">
        <button type="button" data-do="code">${esc(t("member_give_code"))}</button>
        ${state.plan?.sms ? `<button type="button" data-do="sms">${esc(t("member_send_code"))}</button>` : ""}
        <button type="button" data-do="edit">${esc(t("member_edit"))}</button>
        ${m.status === "active" ? `<button type="button" data-do="banned">${esc(t("member_ban"))}</button>
        <button type="button" data-do="deactivated">${esc(t("member_deactivate"))}</button>`
        : `<button type="button" data-do="active">${esc(t("member_reactivate"))}</button>`}
        <button type="button" class="danger" data-do="delete">${esc(t("member_delete"))}</button></div>` : ""}
      <p class="said" role="status"></p>`;
    item.querySelectorAll("button[data-do]").forEach((button) => { button.onclick = () => memberAction(m, button.dataset.do, item); });
    list.append(item);
  }
  const more = document.getElementById("member-more");
  more.hidden = page.next_after === null;
  more.onclick = () => loadMembers(page.next_after);
  // Said through data-i18n, so a language switch redraws it at once, not when the list is read again.
  const message = document.getElementById("member-message");
  if (page.members.length || after) {
    message.textContent = "";
    delete message.dataset.i18n;
  } else {
    message.dataset.i18n = "member_none_found";
    message.textContent = t("member_none_found");
  }
}

// One click, one call; what the server refuses is said on the member's own line.
async function memberAction(m, what, item) {
  const said = item.querySelector(".said");
  let response;
  if (what === "code" || what === "sms") {
    response = await api("POST", `/api/members/${m.id}/sign-in-code${what === "sms" ? "?send=sms" : ""}`);
    if (response.ok) {
      const given = await response.json();
      said.dataset.code = given.code;  // also what a browser test reads
      const sent = given.sent_by_sms === null ? "" : `<br>${esc(t(given.sent_by_sms ? "member_code_sent" : "member_code_not_sent"))}`;
      said.innerHTML = `<strong>${esc(tf("member_code_given", { code: given.code, time: stationTime(given.expires_at) }))}</strong>
        <br>${esc(tf("member_page_link", { url: `${location.origin}/m` }))}${sent}`;
      return;
    }
  } else if (what === "edit") {
    const name = prompt(t("member_col.name"), m.name);
    if (name === null) return;
    const employer = prompt(t("member_col.employer"), m.employer || "");
    if (employer === null) return;
    response = await api("PATCH", `/api/members/${m.id}`, { name, employer: employer || null });
  } else if (what === "delete") {
    if (!confirm(t("member_delete_confirm"))) return;
    response = await api("DELETE", `/api/members/${m.id}`);
  } else {
    const body = { status: what };
    if (what !== "active") {
      body.reason = prompt(t("member_reason")) || null;
      const until = prompt(t("member_until"), "");
      if (until) body.until = new Date(until).toISOString();
    }
    response = await api("POST", `/api/members/${m.id}/status`, body);
  }
  if (!response.ok) { said.textContent = refusal(response.status, await response.json().catch(() => ({}))); return; }
  loadMembers();
}

document.getElementById("member-search").addEventListener("submit", (event) => { event.preventDefault(); loadMembers(); });
document.getElementById("member-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const values = Object.fromEntries([...new FormData(form)].filter(([, value]) => value !== ""));
  const response = await api("POST", "/api/members", values);
  const message = document.getElementById("member-message");
  if (!response.ok) { message.textContent = refusal(response.status, await response.json().catch(() => ({}))); return; }
  form.reset();
  message.textContent = t("member_saved");
  loadMembers();
});

// ---- visitors (issue 12): who asked at the door on their phone; the custodian approves or refuses on theirs ----
// Declared as functions (hoisted), like the members' above.

async function loadVisitors() {
  if (!readsMembers(state.me?.role)) return;
  const response = await api("GET", "/api/visitors");
  const message = document.getElementById("visitor-message");
  if (!response.ok) { message.textContent = refusal(response.status, await response.json().catch(() => ({}))); return; }
  const asks = await response.json();
  const keeper = keepsMembers(state.me.role);
  const list = document.getElementById("visitor-list");
  const key = JSON.stringify(asks.map((a) => [a.id, a.status, a.reason])) + state.lang;
  if (list.dataset.shown === key) return;  // unchanged: a custodian's finger is not pulled from under them
  list.dataset.shown = key;
  list.replaceChildren(...asks.map((a) => {
    const item = document.createElement("li");
    item.className = `visitor status-${a.status}`;
    item.dataset.ask = a.id;
    const needs = a.needs.map((need) => t(`need.${need}`)).join(t("list_and"));
    const reason = a.reason ? ` · ${esc(t(`door.${a.reason}`))}` : "";
    item.innerHTML = `<time datetime="${esc(a.asked_at)}">${stationTime(a.asked_at)}</time> <strong>${esc(needs)}</strong>
      · ${esc(tf("visitor_times", { n: a.asked_this_month }))} · <span class="status">${esc(t(`visitor_status.${a.status}`))}</span>${reason}
      ${keeper && (a.status === "waiting" || a.status === "ready") ? `<div class="actions">
        ${a.status === "waiting" ? `<button type="button" data-do="approve">${esc(t("visitor_approve"))}</button>` : ""}
        <button type="button" class="danger" data-do="refuse">${esc(t("visitor_refuse"))}</button></div>` : ""}
      <p class="said" role="status"></p>`;
    item.querySelectorAll("button[data-do]").forEach((button) => {
      button.onclick = async () => {
        const answered = await api("POST", `/api/visitors/${a.id}/${button.dataset.do}`);
        if (!answered.ok) item.querySelector(".said").textContent = refusal(answered.status, await answered.json().catch(() => ({})));
        else loadVisitors();
      };
    });
    return item;
  }));
  if (asks.length) { message.textContent = ""; delete message.dataset.i18n; }
  else { message.dataset.i18n = "visitors_none"; message.textContent = t("visitors_none"); }
  document.getElementById("visitor-link").textContent = tf("visitor_page_link", { url: `${location.origin}/v` });
}
