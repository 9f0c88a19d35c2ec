// The member's phone page: sign in with a code, show the door pass as a QR code renewed every 15 s, one's own data.
"use strict";

const REFRESH_S = 15;  // a pass lives 30 s at the door: shown for 15, it is always fresh when scanned
const member = { lang: new URLSearchParams(location.search).get("lang") || localStorage.getItem("yxy-lang") || "zh", me: null, timer: null };
const t = (key) => (TEXT[member.lang] && TEXT[member.lang][key]) || key;
const tf = (key, values) => t(key).replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
const $ = (id) => document.getElementById(id);

async function api(method, path) {
  const response = await fetch(path, { method, credentials: "same-origin" });
  const body = response.status === 204 ? null : await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body.detail || response.status), { status: response.status, body });
  return body;
}

// A refusal in the page's language: each of the register's problems by its catalog code.
function refusal(error) {
  const body = error.body || {};
  const params = { ...(body.params || {}) };
  if (params.problems) params.problems = params.problems.map((p) => tf(`member_problem_${p.code}`, p.params || {})).join("; ");
  if (params.standing) params.standing = t(`member_status.${params.standing}`);
  return body.code ? tf(`problem_${body.code}`, params) : String(error.message);
}

function applyLanguage() {
  document.documentElement.lang = member.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  if (member.me) showData(member.me);
}

function showData(me) {
  const moment = (value) => new Intl.DateTimeFormat(member.lang === "zh" ? "zh-CN" : "en-GB",
    { dateStyle: "medium", timeStyle: "short", timeZone: me.timezone }).format(new Date(value));
  const rows = [
    ["name", me.name], ["phone", me.phone], ["member_no", me.member_no || "–"],
    ["worker_group", t(`group.${me.worker_group}`)], ["employer", me.employer || "–"],
    ["face_consent", t(me.face_consent ? "member_consent_yes" : "member_consent_no")],
    ["face_consent_on", me.face_consent_on || "–"], ["face_template", me.face_template || "–"],
    ["status", t(`member_status.${me.status}`)],
    ["status_until", me.status_until ? moment(me.status_until) : "–"],
  ];
  const list = $("my-data");
  list.replaceChildren(...rows.flatMap(([field, value]) => {
    const term = document.createElement("dt");
    term.textContent = t(`member_col.${field}`);
    const said = document.createElement("dd");
    said.textContent = value;  // text, never HTML: it is what a person typed
    said.dataset.field = field;
    if (["name", "phone", "member_no", "employer"].includes(field)) said.translate = false;
    return [term, said];
  }));
  $("withdraw").hidden = !me.face_consent;
  showVisits(me);
}

// The door's decisions on the member, newest first, in the station's time zone: what the door log keeps of them.
function showVisits(me) {
  const moment = new Intl.DateTimeFormat(member.lang === "zh" ? "zh-CN" : "en-GB",
    { dateStyle: "medium", timeStyle: "short", timeZone: me.timezone });
  const list = $("visits");
  list.replaceChildren(...(member.visits || []).map((visit) => {
    const item = document.createElement("li");
    item.className = visit.admitted ? "admitted" : "refused";
    const when = document.createElement("time");
    when.dateTime = visit.at;
    when.textContent = moment.format(new Date(visit.at));
    item.append(when, ` ${t(visit.admitted ? "door_admitted" : "door_refused")} · ${t(`door.${visit.reason}`)}`);
    return item;
  }));
  $("visits-none").hidden = (member.visits || []).length > 0;
}

async function renewPass() {
  clearInterval(member.timer);
  try {
    const pass = await api("GET", "/api/member/pass");
    $("qr").src = pass.qr;
    $("qr").dataset.pass = pass.text;
    $("qr").hidden = false;
    $("pass-refused").hidden = true;
  } catch (error) {
    if (error.status === 401) return signedOut();
    $("qr").hidden = true;
    $("qr").removeAttribute("data-pass");
    $("pass-refused").textContent = refusal(error);
    $("pass-refused").hidden = false;
  }
  // Counted on the phone's own clock from the moment the pass arrived: a phone set wrong still renews on time.
  let left = REFRESH_S;
  $("countdown").textContent = tf("m_refresh_in", { seconds: left });
  member.timer = setInterval(() => {
    left -= 1;
    if (left <= 0) return renewPass();
    $("countdown").textContent = tf("m_refresh_in", { seconds: left });
  }, 1000);
}

async function signedIn() {
  try {
    member.me = await api("GET", "/api/member/me");
  } catch (error) {
    return signedOut();
  }
  $("login").hidden = true;
  $("home").hidden = false;
  $("sign-out").hidden = false;
  member.visits = await api("GET", "/api/member/visits").catch(() => []);
  showData(member.me);
  renewPass();
}

function signedOut(message = "") {
  clearInterval(member.timer);
  member.me = null;
  $("home").hidden = true;
  $("sign-out").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
}

$("code-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const response = await fetch("/api/member/sign-in", {
    method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ phone: form.phone.value, code: form.code.value.trim() }),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    $("login-error").textContent = refusal({ body, message: response.status });
    return;
  }
  form.reset();
  $("login-error").textContent = "";
  signedIn();
});

$("withdraw").addEventListener("click", async () => {
  if (!confirm(t("m_withdraw_confirm"))) return;
  try {
    member.me = { ...member.me, ...(await api("POST", "/api/member/consent/withdraw")) };
    showData(member.me);
    $("mine-message").textContent = t("m_withdrawn");
  } catch (error) {
    $("mine-message").textContent = refusal(error);
  }
});

$("forget-me").addEventListener("click", async () => {
  if (!confirm(t("m_delete_confirm"))) return;
  try {
    await api("DELETE", "/api/member/me");
    signedOut(t("m_deleted"));
  } catch (error) {
    $("mine-message").textContent = refusal(error);
  }
});

$("sign-out").addEventListener("click", async () => {
  await api("POST", "/api/member/sign-out").catch(() => null);
  signedOut();
});

$("lang").addEventListener("click", () => {
  member.lang = member.lang === "zh" ? "en" : "zh";
  localStorage.setItem("yxy-lang", member.lang);
  applyLanguage();
  if (member.me) renewPass();
});

applyLanguage();
signedIn();
