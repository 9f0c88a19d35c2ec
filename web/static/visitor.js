// The visitor's phone page (web/visitors.py): ask to come in, then see what the door or the custodian decided.
"use strict";

const POLL_S = 3;  // while the custodian or the door decides: an answer is seen within this
const RENEW_S = 15;  // a pass lives 30 s at the door: shown for 15, it is always fresh when scanned
const visitor = { lang: new URLSearchParams(location.search).get("lang") || localStorage.getItem("yxy-lang") || "zh",
  door: new URLSearchParams(location.search).get("door"), rules: null, ask: null, token: null, timer: null, shownAt: 0 };
const t = (key) => (TEXT[visitor.lang] && TEXT[visitor.lang][key]) || key;
const tf = (key, values) => t(key).replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
const $ = (id) => document.getElementById(id);
const hour = (h) => `${String(Math.floor(h)).padStart(2, "0")}:${String(Math.round((h % 1) * 60)).padStart(2, "0")}`;

// A refusal in the page's language, by its catalog code (a phone number's problem by the register's own words).
function refusal(body, status) {
  const params = { ...(body.params || {}) };
  if (params.problems) params.problems = params.problems.map((p) => tf(`member_problem_${p.code}`, p.params || {})).join("; ");
  return body.code ? tf(`problem_${body.code}`, params) : `${status}`;
}

function applyLanguage() {
  document.documentElement.lang = visitor.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  if (visitor.rules) showRules(visitor.rules);
  if (visitor.ask) showAnswer(visitor.ask);
}

function showRules(rules) {
  const night = rules.night_needs.map((need) => t(`need.${need}`)).join(t("list_and"));
  $("night-rule").textContent = tf("v_night_rule", { from: hour(rules.night_from_h), to: hour(rules.night_to_h), needs: night });
  $("privacy").textContent = tf("v_privacy", { days: rules.kept_days });
  const chosen = new Set([...document.querySelectorAll("#needs input:checked")].map((box) => box.value));
  const boxes = rules.needs.map((need) => {
    const label = document.createElement("label");
    label.className = "need";
    const box = Object.assign(document.createElement("input"), { type: "checkbox", name: "need", value: need, checked: chosen.has(need) });
    label.append(box, ` ${t(`need.${need}`)}`);
    return label;
  });
  $("needs").replaceChildren($("needs").querySelector("legend"), ...boxes);
}

function showAnswer(ask) {
  const line = $("ask-status");
  line.dataset.status = ask.status;
  const reason = ask.reason ? t(`door.${ask.reason}`) : "";
  // Ready, and the door said no at the last scan (full, locked): said, and the pass works again once it does not.
  line.textContent = ask.status === "ready" && ask.reason ? tf("v_status_ready_again", { reason }) : tf(`v_status_${ask.status}`, { reason });
  const qr = $("qr");
  // The pass is renewed every RENEW_S on the phone's own clock, not at every poll: a scanner reading it is not disturbed.
  if (ask.door_pass && (!qr.dataset.pass || performance.now() - visitor.shownAt > RENEW_S * 1000)) {
    qr.src = ask.door_pass.qr;
    qr.dataset.pass = ask.door_pass.text;
    visitor.shownAt = performance.now();
  }
  qr.hidden = !ask.door_pass;
  if (!ask.door_pass) qr.removeAttribute("data-pass");
  $("asking").hidden = true;
  $("answer").hidden = false;
  $("ask-again").hidden = ask.status === "waiting" || ask.status === "ready";
}

async function poll() {
  clearTimeout(visitor.timer);
  if (!visitor.ask || !["waiting", "ready"].includes(visitor.ask.status)) return;
  const response = await fetch(`/api/visitor/ask/${encodeURIComponent(visitor.token)}`, { credentials: "same-origin" }).catch(() => null);
  if (response && response.ok) {
    visitor.ask = await response.json();
    showAnswer(visitor.ask);
  }
  visitor.timer = setTimeout(poll, POLL_S * 1000);
}

$("ask-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const needs = [...document.querySelectorAll("#needs input:checked")].map((box) => box.value);
  if (!needs.length) { $("ask-error").textContent = t("problem_visitor_needs"); return; }
  const response = await fetch("/api/visitor/ask", {
    method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ phone: event.target.phone.value, needs, door: visitor.door || undefined }),
  }).catch(() => null);
  if (!response) { $("ask-error").textContent = t("problem_offline"); return; }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) { $("ask-error").textContent = refusal(body, response.status); return; }
  $("ask-error").textContent = "";
  visitor.token = body.token;  // kept in this page only: the ask's one way back
  visitor.ask = body;
  showAnswer(body);
  poll();
});

$("ask-again").addEventListener("click", () => {
  visitor.ask = null;
  $("answer").hidden = true;
  $("asking").hidden = false;
});

$("lang").addEventListener("click", () => {
  visitor.lang = visitor.lang === "zh" ? "en" : "zh";
  localStorage.setItem("yxy-lang", visitor.lang);
  applyLanguage();
});

async function start() {
  applyLanguage();
  const query = visitor.door ? `?${new URLSearchParams({ door: visitor.door })}` : "";
  const response = await fetch(`/api/visitor/door${query}`).catch(() => null);
  const body = response ? await response.json().catch(() => ({})) : {};
  if (!response || !response.ok) { $("ask-error").textContent = response ? refusal(body, response.status) : t("problem_offline"); return; }
  visitor.rules = body;
  showRules(body);
}

start();
