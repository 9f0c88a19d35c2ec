// Duties and safety on the staff page (web/duties.py): who is on duty, the opening and closing checklists and the safety
// checks signed line by line, the roster (an officer makes it), and incident reports with their follow-up. Uses app.js's
// api, t, tf, refusal, stationTime, stationNow, fromStationWall, labelFor, state; dom.js's node.
"use strict";

const duties = { lists: null, open: null };
const when = (moment) => stationTime(moment, true).slice(0, 16);

function openChecklist(kind, lines) {
  duties.open = kind;
  const form = document.getElementById("checklist-form");
  document.getElementById("checklist-title").textContent = kind.startsWith("safety:") ? t("d_safety") : t(`d_${kind}`);
  document.getElementById("checklist-lines").replaceChildren(...lines.map((line, n) => node("li", { dataset: { line: n } },
    node("label", { className: "check" }, node("input", { type: "checkbox", name: `ok-${n}`, checked: true }), ` ${labelFor(line)}`),
    node("input", { name: `note-${n}`, maxLength: 200, placeholder: t("d_line_note") }))));
  form.hidden = false;
  form.scrollIntoView({ block: "nearest" });
}

function drawDuties(view, shifts) {
  const doer = state.me.role !== "auditor";
  const at = stationNow();  // the station's clock: in a demo it runs faster than the wall's
  const now = shifts.find((s) => Date.parse(s.starts_at) <= at && at < Date.parse(s.ends_at));
  const last = (record) => (record ? tf("d_last", { who: record.done_by, at: when(record.done_at) }) : t("d_never"));
  document.getElementById("duty-now").textContent = [now ? tf("d_on_duty", { who: now.username, until: when(now.ends_at) }) : t("d_nobody"),
    `${t("d_opening")}: ${last(view.last_opening)}`, `${t("d_closing")}: ${last(view.last_closing)}`].join(" · ");
  document.getElementById("checklist-buttons").replaceChildren(...(doer ? ["opening", "closing"] : []).map((kind) =>
    node("button", { type: "button", textContent: t(`d_${kind}`), dataset: { checklist: kind }, onclick: () => openChecklist(kind, view[kind]) })));
  document.getElementById("safety-list").replaceChildren(...view.safety.map((check) => {
    const item = node("li", { className: check.overdue ? "overdue" : "", dataset: { check: check.kind } },
      node("strong", { textContent: labelFor(check.label) }), " ",
      node("small", { textContent: `${last(check.last)} · ${check.overdue ? t("d_overdue") : tf("d_due", { at: when(check.due) })}` }));
    if (check.failed.length) {  // found not in order: said on the card until a check finds it in order again
      item.append(node("p", { className: "failed" }, `${t("d_failed")}: `, check.failed.map((line) => line.note).join("；")));
    }
    if (doer) item.append(" ", node("button", { type: "button", textContent: t("d_check_now"), onclick: () => openChecklist(check.kind, [check.label]) }));
    return item;
  }));
  const kinds = document.querySelector("#incident-form select[name=kind]");
  if (!kinds.options.length || kinds.dataset.lang !== state.lang) {
    const chosen = kinds.value;
    kinds.replaceChildren(...view.incident_kinds.map((k) => node("option", { value: k, textContent: t(`d_kind.${k}`) })));
    kinds.dataset.lang = state.lang;
    if (chosen) kinds.value = chosen;
  }
}

function drawRoster(shifts) {
  const officer = state.me.role === "admin";
  const list = document.getElementById("roster-list");
  if (!shifts.length) { list.replaceChildren(node("li", { className: "hint", textContent: t("d_no_shifts") })); }
  else {
    list.replaceChildren(...shifts.map((shift) => {
      const item = node("li", { dataset: { shift: shift.id } },
        tf("d_shift", { who: shift.username, from: when(shift.starts_at), until: when(shift.ends_at) }), shift.note ? ` · ${shift.note}` : "");
      if (officer) {
        item.append(" ", node("button", { type: "button", textContent: t("d_remove_shift"), onclick: async () => {
          const answered = await api("DELETE", `/api/duties/roster/${shift.id}`);
          const message = document.getElementById("duty-message");
          message.textContent = answered.ok ? "" : refusal(answered.status, await answered.json().catch(() => ({})));
          loadDuties();
        } }));
      }
      return item;
    }));
  }
  document.getElementById("roster-form").hidden = !officer;
}

function incidentItem(row) {
  const item = node("li", { className: row.closed_at ? "closed" : "open", dataset: { incident: row.id } },
    node("p", {}, node("strong", { textContent: t(`d_kind.${row.kind}`) }), ` ${when(row.at)} · ${row.reported_by}${row.alarm ? ` · ${row.alarm}` : ""}`),
    node("p", { className: "said-text", textContent: row.description }),
    ...row.follow_up.map((step) => node("p", { className: "hint", textContent: `${when(step.at)} ${step.by}: ${step.note}` })));
  if (!row.closed_at && state.me.role !== "auditor") {
    const note = node("input", { name: "step", maxLength: 500, placeholder: t("d_step") });
    const said = node("p", { className: "said", role: "status" });
    const step = async (close) => {
      const answered = await api("POST", `/api/incidents/${row.id}/follow-up`, { note: note.value, close });
      if (!answered.ok) { said.textContent = refusal(answered.status, await answered.json().catch(() => ({}))); return; }
      document.activeElement.blur();
      loadDuties();
    };
    item.append(node("div", { className: "actions" }, note, node("button", { type: "button", textContent: t("d_add_step"), onclick: () => step(false) }),
      node("button", { type: "button", textContent: t("d_close_incident"), onclick: () => step(true) })), said);
  }
  return item;
}

async function loadDuties() {
  if (!state.me) return;
  const card = document.getElementById("duties");
  if (card.contains(document.activeElement) && document.activeElement.tagName !== "BUTTON") return;  // not under a finger
  const [lists, roster, open, latest] = await Promise.all([api("GET", "/api/duties/checklists"), api("GET", "/api/duties/roster?days=7"),
    api("GET", "/api/incidents"), api("GET", "/api/incidents?state=all&limit=50")]);
  if (!lists.ok || !roster.ok || !open.ok || !latest.ok) return;
  duties.lists = await lists.json();
  const shifts = await roster.json();
  drawDuties(duties.lists, shifts);
  drawRoster(shifts);
  document.getElementById("incident-list").replaceChildren(...(await open.json()).map(incidentItem));
  const closed = (await latest.json()).filter((row) => row.closed_at).slice(0, 20);
  document.getElementById("closed-incidents").hidden = !closed.length;
  document.getElementById("closed-incident-list").replaceChildren(...closed.map(incidentItem));
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("checklist-form");
  document.getElementById("checklist-cancel").addEventListener("click", () => { form.hidden = true; duties.open = null; });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const lines = [...document.querySelectorAll("#checklist-lines li")];
    const results = lines.map((li, n) => ({ ok: form[`ok-${n}`].checked, note: form[`note-${n}`].value }));
    const answered = await api("POST", "/api/duties/checks", { kind: duties.open, results, note: form.note.value });
    const message = document.getElementById("duty-message");
    if (!answered.ok) { message.textContent = refusal(answered.status, await answered.json().catch(() => ({}))); return; }
    const signed = await answered.json();
    message.textContent = tf("d_signed", { who: signed.done_by, at: when(signed.done_at) });
    form.hidden = true;
    form.note.value = "";
    document.activeElement.blur();
    loadDuties();
  });
  document.getElementById("roster-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const shift = event.target;
    const starts = Date.parse(fromStationWall(shift.starts.value));
    const body = { username: shift.username.value.trim(), starts_at: new Date(starts).toISOString(),
      ends_at: new Date(starts + Number(shift.hours.value) * 3600000).toISOString(), note: shift.note.value };
    const answered = await api("POST", "/api/duties/roster", body);
    const message = document.getElementById("duty-message");
    if (!answered.ok) { message.textContent = refusal(answered.status, await answered.json().catch(() => ({}))); return; }
    const made = await answered.json();
    message.textContent = tf("d_shift_made", { who: made.username, from: when(made.starts_at) });
    shift.note.value = "";
    document.activeElement.blur();
    loadDuties();
  });
  document.getElementById("roster").addEventListener("toggle", async (event) => {
    // An officer picks from the staff's accounts; the list is theirs to read, nobody else's.
    if (!event.target.open || state.me.role !== "admin") return;
    const answered = await api("GET", "/api/users");
    if (answered.ok) {
      document.getElementById("roster-people").replaceChildren(...(await answered.json()).filter((u) => u.active && u.role !== "auditor")
        .map((u) => node("option", { value: u.username, textContent: u.display_name })));
    }
  });
  document.getElementById("incident-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const report = event.target;
    const body = { kind: report.kind.value, description: report.description.value, alarm: report.alarm.value.trim() || null };
    const answered = await api("POST", "/api/incidents", body);
    const message = document.getElementById("duty-message");
    if (!answered.ok) { message.textContent = refusal(answered.status, await answered.json().catch(() => ({}))); return; }
    report.description.value = "";
    report.alarm.value = "";
    message.textContent = t("d_reported");
    document.activeElement.blur();
    loadDuties();
  });
});
