// Anyone's feedback page (web/feedback.py): rate, say something, complain; a complaint's answer shows here.
"use strict";

const POLL_S = 30;  // a complaint is answered in days: the page asks now and then while it is open
const fb = { lang: ["zh", "en"].find((l) => l === (new URLSearchParams(location.search).get("lang") || localStorage.getItem("yxy-lang"))) || "zh",
  form: null, given: null, rating: null, timer: null };
const t = (key) => (TEXT[fb.lang] && TEXT[fb.lang][key]) || key;
const tf = (key, values) => t(key).replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
const $ = (id) => document.getElementById(id);
const STORED = "yxy-feedback";  // the last complaint's token: the phone comes back to its answer

function refusal(body, status) {
  return body.code ? tf(`problem_${body.code}`, body.params || {}) : `${status}`;
}

// A moment on the station's clock is the phone's business here: a date is enough, in the phone's own zone.
const day = (iso) => new Date(iso).toLocaleDateString(fb.lang === "zh" ? "zh-CN" : "en-GB");

function drawStars() {
  const boxes = [1, 2, 3, 4, 5].map((n) => {
    const star = Object.assign(document.createElement("button"), { type: "button", className: "star", textContent: "★" });
    star.dataset.rating = n;
    star.setAttribute("aria-label", tf("fb_stars", { n }));
    star.setAttribute("aria-pressed", String(fb.rating === n));
    star.classList.toggle("on", fb.rating !== null && n <= fb.rating);
    star.onclick = () => { fb.rating = fb.rating === n ? null : n; drawStars(); };
    return star;
  });
  $("stars").replaceChildren($("stars").querySelector("legend"), ...boxes);
}

function drawCategories() {
  const select = document.querySelector("select[name=category]");
  const chosen = select.value;
  select.replaceChildren(...(fb.form ? fb.form.categories : []).map((c) => Object.assign(document.createElement("option"), { value: c, textContent: t(`fb_cat.${c}`) })));
  if (chosen) select.value = chosen;
}

// The message's status, shown; `reveal` also turns the page to it. A poll or a language switch only updates it: a worker
// writing a second message is not thrown out of the form.
function showGiven(given, reveal = true) {
  fb.given = given;
  if (reveal) {
    $("giving").hidden = true;
    $("thanks").hidden = false;
  }
  $("feedback-status").dataset.status = given.status;
  $("feedback-status").textContent = given.status === "noted" ? t("fb_noted")
    : tf(`fb_status_${given.status}`, { due: given.due ? day(given.due) : "" });
  $("feedback-reply").textContent = given.reply ? tf("fb_reply", { reply: given.reply, at: day(given.replied_at) }) : "";
}

async function poll(token, reveal = false) {
  const answer = await fetch(`/api/feedback/${encodeURIComponent(token)}`);
  if (answer.status === 404) { localStorage.removeItem(STORED); return; }
  if (answer.ok) showGiven(await answer.json(), reveal);
}

function applyLanguage() {
  document.documentElement.lang = fb.lang === "zh" ? "zh-CN" : "en";
  document.title = t("fb_title");
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  drawStars();
  drawCategories();
  if (fb.given) showGiven(fb.given, false);
}

document.addEventListener("DOMContentLoaded", async () => {
  applyLanguage();
  $("lang").addEventListener("click", () => {
    fb.lang = fb.lang === "zh" ? "en" : "zh";
    localStorage.setItem("yxy-lang", fb.lang);
    applyLanguage();
  });
  const form = $("feedback-form");
  form.complaint.addEventListener("change", () => { $("category-field").hidden = !form.complaint.checked; });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    $("feedback-error").textContent = "";
    const body = { rating: fb.rating, comment: form.comment.value, as_member: form.as_member.checked,
      category: form.complaint.checked ? form.category.value : null };
    const answer = await fetch("/api/feedback", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .catch(() => null);  // no network: what was written stays in the form, to send again
    if (!answer) { $("feedback-error").textContent = t("fb_offline"); return; }
    const said = await answer.json().catch(() => ({}));
    if (!answer.ok) { $("feedback-error").textContent = refusal(said, answer.status); return; }
    if (said.status !== "noted") {
      localStorage.setItem(STORED, said.token);
      clearInterval(fb.timer);
      fb.timer = setInterval(() => poll(said.token), POLL_S * 1000);
    }
    showGiven(said);
  });
  // What the page needs from the server comes after the handlers: offline, a submit still stays on the page.
  try {
    fb.form = await (await fetch("/api/feedback/form")).json();
    drawCategories();
    // Offered only on a phone where a member is signed in on their own page (its cookie is HttpOnly: the server says).
    $("member-field").hidden = !(await fetch("/api/member/me")).ok;
    const kept = localStorage.getItem(STORED);
    if (kept) { await poll(kept, true); fb.timer = setInterval(() => poll(kept), POLL_S * 1000); }
  } catch (error) {
    $("feedback-error").textContent = t("fb_offline");
  }
  $("again").addEventListener("click", () => {
    form.reset();
    fb.rating = null;
    drawStars();
    $("category-field").hidden = true;
    $("giving").hidden = false;
    $("thanks").hidden = true;
  });
});
