// The union's books on the staff page (web/books.py): the custodian proposes a spending with its receipt photographed
// on the phone, an officer approves or rejects it, the auditor reads. Uses app.js's api, t, tf, refusal, stationTime; dom.js's node, yuan.
"use strict";

const RECEIPT_EDGE = 1600;  // a receipt photo is shrunk to this many pixels on its long side: legible, and a few hundred kB
const RECEIPT_BYTES = 2 * 1024 * 1024;  // the server's limit (store/spending.py)
const funds = { accounts: [], today: null };

const accountName = (code) => {
  const account = funds.accounts.find((a) => a.code === code);
  return account ? (state.lang === "zh" ? account.name_zh : account.name_en) : code;
};

// A phone's photo (often 3-8 MB) is redrawn as a JPEG of at most RECEIPT_EDGE px; a PDF or a small image goes as it is.
async function receiptBody(file) {
  if (!file.type.startsWith("image/") || (file.size <= RECEIPT_BYTES / 2 && file.type !== "image/heic")) return file;
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, RECEIPT_EDGE / Math.max(bitmap.width, bitmap.height));
  const canvas = Object.assign(document.createElement("canvas"), { width: Math.round(bitmap.width * scale), height: Math.round(bitmap.height * scale) });
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
}

async function attachReceipt(spending, file) {
  const body = await receiptBody(file);
  const response = await fetch(`/api/books/spending/${spending}/receipts`, {
    method: "POST", credentials: "same-origin", headers: { "Content-Type": body.type || "application/octet-stream" }, body,
  });
  if (response.status === 401) { showLogin(); throw new Error("signed out"); }
  return response;
}

function fillAccounts() {
  const form = document.getElementById("funds-form");
  const wanted = form.kind.value === "spend" ? "expense" : "income";
  const chosen = form.account.value;
  const options = (kind) => funds.accounts.filter((a) => a.kind === kind).map((a) => node("option", { value: a.code, textContent: accountName(a.code) }));
  form.account.replaceChildren(...options(wanted));
  if ([...form.account.options].some((o) => o.value === chosen)) form.account.value = chosen;
  const via = form.via.value || "cash";  // petty cash is what a custodian pays from
  form.via.replaceChildren(...options("asset"));
  if ([...form.via.options].some((o) => o.value === via)) form.via.value = via;
  if (!form.spent_on.value && state.plan) {
    const today = stationParts(Date.now());  // the books' days are the station's
    form.spent_on.value = `${today.year}-${today.month}-${today.day}`;
  }
}

function spendingItem(s) {
  const me = state.me;
  const officer = me.role === "admin";
  const item = node("li", { className: `spending status-${s.status}`, dataset: { spending: s.id } });
  const amount = node("strong", { textContent: `${s.kind === "receive" ? "+" : ""}${yuan(s.amount_fen)}` });
  const receipts = s.receipts.map((r, n) => node("a", {
    href: `/api/books/spending/${s.id}/receipts/${r.sha256}`, target: "_blank", rel: "noopener", textContent: tf("f_receipt_n", { n: n + 1 }),
  }));
  const decided = s.decided_by ? ` · ${tf(`f_by_${s.status}`, { who: s.decided_by })}${s.reason ? `: ${s.reason}` : ""}` : "";
  item.append(
    node("p", {}, amount, ` ${s.memo}`),
    node("small", { textContent: `${s.spent_on} · ${accountName(s.account)} · ${accountName(s.via)} · ${tf("f_proposed_by", { who: s.proposed_by })} · ` },
      node("span", { className: "status", textContent: t(`f_status_${s.status}`) }), decided, s.entry ? ` · ${tf("f_entry", { entry: s.entry })}` : ""),
    node("div", { className: "receipts" }, ...receipts),
  );
  const said = node("p", { className: "said", role: "status" });
  const act = async (path, body) => {
    const answered = await api("POST", `/api/books/spending/${s.id}/${path}`, body);
    if (!answered.ok) said.textContent = refusal(answered.status, await answered.json().catch(() => ({})));
    else loadFunds();
  };
  if (s.status === "proposed") {
    const actions = node("div", { className: "actions" });
    if (officer && s.proposed_by !== me.username) {
      actions.append(node("button", { type: "button", textContent: t("f_approve"), dataset: { do: "approve" }, onclick: () => act("approve") }));
      const reason = node("input", { name: "reason", maxLength: 200, placeholder: t("f_reason") });
      actions.append(reason, node("button", { type: "button", className: "danger", textContent: t("f_reject"), dataset: { do: "reject" },
        onclick: () => act("reject", { reason: reason.value }) }));
    }
    if (s.proposed_by === me.username) {
      const file = node("input", { type: "file", accept: "image/jpeg,image/png,application/pdf", name: "more-receipt" });
      file.onchange = async () => {
        const answered = await attachReceipt(s.id, file.files[0]);
        if (!answered.ok) said.textContent = refusal(answered.status, await answered.json().catch(() => ({})));
        else loadFunds();
      };
      actions.append(node("label", { className: "add-receipt" }, t("f_add_receipt"), file),
        node("button", { type: "button", textContent: t("f_withdraw"), dataset: { do: "withdraw" }, onclick: () => act("withdraw", {}) }));
    }
    item.append(actions);
  }
  item.append(said);
  return item;
}

const shownBudget = (a) => (a.budget_fen == null ? "" : `${Math.floor(a.budget_fen / 100)}.${String(a.budget_fen % 100).padStart(2, "0")}`);

// An officer sets each budget line's yearly budget; the page and the monthly report weigh spending against it.
function fillBudgets() {
  const form = document.getElementById("budget-form");
  form.hidden = state.me.role !== "admin";
  if (form.hidden || form.contains(document.activeElement)) return;  // not redrawn under an officer's typing
  document.getElementById("budget-lines").replaceChildren(...funds.accounts.filter((a) => a.kind === "expense").map((a) => node("label", {},
    node("span", { textContent: `${accountName(a.code)} (${tf("f_spent_this_year", { spent: yuan(a.spent_this_year_fen || 0) })})` }),
    node("input", { name: a.code, inputMode: "decimal", maxLength: 20, pattern: "\\d+(\\.\\d{1,2})?", value: shownBudget(a),
      dataset: { was: shownBudget(a) } }))));
}

async function loadFunds() {
  if (!readsMembers(state.me?.role)) return;
  const [accounts, proposals] = await Promise.all([api("GET", "/api/books/accounts"), api("GET", "/api/books/spending")]);
  const message = document.getElementById("funds-message");
  if (!accounts.ok || !proposals.ok) { message.textContent = refusal(proposals.status, await proposals.json().catch(() => ({}))); return; }
  funds.accounts = await accounts.json();
  const list = await proposals.json();
  fillAccounts();
  fillBudgets();
  // Waiting first (the officer's to decide), then the rest, newest first.
  list.sort((a, b) => (a.status === "proposed" ? 0 : 1) - (b.status === "proposed" ? 0 : 1) || b.id - a.id);
  document.getElementById("funds-list").replaceChildren(...list.map(spendingItem));
  message.textContent = list.length ? "" : t("f_none");
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("funds-form");
  form.kind.addEventListener("change", fillAccounts);
  document.getElementById("budget-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = document.getElementById("budget-message");
    for (const input of event.target.querySelectorAll("#budget-lines input")) {
      if (input.value.trim() === input.dataset.was) continue;  // unchanged: nothing to set, nothing to audit
      const budget = input.value.trim() || null;
      const answered = await api("PUT", `/api/books/accounts/${input.name}/budget`, { budget });
      if (!answered.ok) { message.textContent = `${accountName(input.name)}: ${refusal(answered.status, await answered.json().catch(() => ({})))}`; return; }
    }
    message.textContent = t("f_budget_saved");
    document.activeElement.blur();
    loadFunds();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("funds-error");
    error.textContent = "";
    const body = { kind: form.kind.value, account: form.account.value, via: form.via.value, amount: form.amount.value.trim(),
      memo: form.memo.value, spent_on: form.spent_on.value };
    const made = await api("POST", "/api/books/spending", body);
    if (!made.ok) { error.textContent = refusal(made.status, await made.json().catch(() => ({}))); return; }
    const spending = await made.json();
    const file = form.receipt.files[0];
    if (file) {
      const kept = await attachReceipt(spending.id, file);
      if (!kept.ok) error.textContent = refusal(kept.status, await kept.json().catch(() => ({})));
    }
    form.amount.value = "";
    form.memo.value = "";
    form.receipt.value = "";
    loadFunds();
  });
});
