// The transparency page (web/books.py): each month's money in and out, every entry with its hash. No sign-in.
"use strict";

const query = new URLSearchParams(location.search);
const books = { lang: ["zh", "en"].find((l) => l === (query.get("lang") || localStorage.getItem("yxy-lang"))) || "zh", month: query.get("month"), shown: null };
const t = (key) => (TEXT[books.lang] && TEXT[books.lang][key]) || key;
const tf = (key, values) => t(key).replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
const $ = (id) => document.getElementById(id);
const named = (item) => (books.lang === "zh" ? item.name_zh : item.name_en);

// When an entry was booked, on the station's clock whatever the reader's own time zone.
function stationTime(iso, zone) {
  const options = { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-CA", options).formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

function show(view) {
  books.shown = view;
  books.month = view.month;
  const months = view.months.includes(view.month) ? view.months : [view.month, ...view.months];
  $("month").replaceChildren(...months.map((m) => node("option", { value: m, textContent: m, selected: m === view.month })));
  $("state").textContent = t(view.closed ? "b_closed" : "b_open");
  $("state").dataset.closed = view.closed;
  const income = view.income.reduce((sum, row) => sum + row.fen, 0);
  const spent = view.spent.reduce((sum, row) => sum + row.fen, 0);
  $("summary").replaceChildren(...[["b_opening", view.opening_fen], ["b_income", income], ["b_spent", spent], ["b_closing", view.closing_fen]]
    .flatMap(([key, fen]) => [node("dt", { textContent: t(key) }), node("dd", { textContent: yuan(fen), className: `figure-${key}` })]));
  $("income").replaceChildren(...view.income.map((row) => node("li", {}, node("span", { textContent: named(row) }), node("strong", { textContent: yuan(row.fen) }))));
  $("spent").replaceChildren(...view.spent.map((row) => {
    const used = row.budget_fen ? Math.min(100, (100 * row.this_year_fen) / row.budget_fen) : 0;
    const year = row.budget_fen ? tf("b_this_year", { spent: yuan(row.this_year_fen), budget: yuan(row.budget_fen) })
      : tf("b_this_year_no_budget", { spent: yuan(row.this_year_fen) });
    const bar = node("span", { className: "books-bar" }, node("span", { className: row.this_year_fen > (row.budget_fen || Infinity) ? "over" : "" }));
    bar.firstChild.style.width = `${used}%`;
    return node("li", { dataset: { line: row.code } }, node("span", { textContent: named(row) }), node("strong", { textContent: yuan(row.fen) }),
      node("small", { textContent: year }), bar);
  }));
  if (!view.income.length) $("income").replaceChildren(node("li", { className: "hint", textContent: t("b_no_income") }));
  const accounts = Object.fromEntries(view.accounts.map((row) => [row.code, row]));
  $("entries").replaceChildren(...view.entries.map((entry) => {
    const lines = entry.lines.map(([account, debit, credit]) => node("li", {},
      node("span", { textContent: accounts[account] ? named(accounts[account]) : account }),
      node("span", { textContent: `${t(debit ? "b_debit" : "b_credit")} ${yuan(debit || credit)}` })));
    const notes = [tf("b_booked_at", { at: stationTime(entry.at, view.timezone) })];
    if (entry.reverses) notes.push(tf("b_reverses", { entry: entry.reverses }));
    if (entry.receipts.length) notes.push(tf("b_receipts", { count: entry.receipts.length }));
    return node("li", { value: entry.id, dataset: { entry: entry.id } }, node("p", {}, node("b", { textContent: `${entry.booked_on} ` }), entry.memo),
      node("ul", { className: "books-lines" }, ...lines), node("small", { textContent: notes.join(" · ") }),
      node("code", { className: "books-hash", textContent: entry.hash }));
  }));
  if (!view.entries.length) $("entries").replaceChildren(node("li", { className: "hint", textContent: t("b_no_entries") }));
  $("head").textContent = view.head ? tf("b_head", { entry: view.head.entry, hash: view.head.hash }) : t("b_nothing_yet");
  $("how").textContent = tf("b_check_how", { url: `${location.origin}/api/books/entries` });
  $("report").href = `/books/report?month=${view.month}&lang=${books.lang}`;
  $("xlsx").href = `/books/report.xlsx?month=${view.month}&lang=${books.lang}`;
}

function applyLanguage() {
  document.documentElement.lang = books.lang === "zh" ? "zh-CN" : "en";
  document.title = t("b_title");
  document.querySelectorAll("[data-i18n]").forEach((node) => { node.textContent = t(node.dataset.i18n); });
  if (books.shown) show(books.shown);
}

async function load(month) {
  const answer = await fetch(`/api/books/month${month ? `?month=${encodeURIComponent(month)}` : ""}`);
  if (!answer.ok) { $("state").textContent = t("b_failed"); return; }
  show(await answer.json());
}

document.addEventListener("DOMContentLoaded", () => {
  applyLanguage();
  $("lang").addEventListener("click", () => {
    books.lang = books.lang === "zh" ? "en" : "zh";
    localStorage.setItem("yxy-lang", books.lang);
    applyLanguage();
  });
  $("month").addEventListener("change", (event) => load(event.target.value));
  load(books.month);
});
