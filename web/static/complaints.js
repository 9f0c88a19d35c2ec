// Complaints on the staff page (web/feedback.py): open ones by deadline, overdue marked; take one, answer it, close it.
// Uses app.js's api, t, tf, refusal, stationTime, state; node() from dom.js.
"use strict";

function complaintItem(c) {
  const handler = keepsMembers(state.me.role);
  const item = node("li", { className: `complaint status-${c.status}${c.overdue ? " overdue" : ""}`, dataset: { complaint: c.id } });
  const due = c.due ? tf(c.overdue ? "c_overdue" : "c_due", { due: stationTime(c.due, true).slice(0, 16) }) : "";
  item.append(
    node("p", {}, node("strong", { textContent: t(`fb_cat.${c.category}`) }), ` ${c.rating ? "★".repeat(c.rating) : ""} `,
      node("span", { className: "status", textContent: t(`c_status_${c.status}`) })),
    node("p", { className: "said-text", textContent: c.comment }),
    node("small", { textContent: [stationTime(c.at, true).slice(0, 16), due, c.assignee ? tf("c_assignee", { who: c.assignee }) : "",
      c.member ? t("c_member") : t("c_anonymous")].filter(Boolean).join(" · ") }),
  );
  if (c.reply) item.append(node("p", { className: "reply", textContent: tf("c_replied", { who: c.replied_by, reply: c.reply }) }));
  const said = node("p", { className: "said", role: "status" });
  const act = async (path, body) => {
    const answered = await api("POST", `/api/complaints/${c.id}/${path}`, body);
    if (!answered.ok) { said.textContent = refusal(answered.status, await answered.json().catch(() => ({}))); return; }
    document.activeElement.blur();  // done here: the list may be drawn again
    loadComplaints();
  };
  if (handler && c.status !== "closed") {
    const actions = node("div", { className: "actions" });
    if (c.assignee !== state.me.username) actions.append(node("button", { type: "button", textContent: t("c_take"), dataset: { do: "take" },
      onclick: () => act("assign", { assignee: state.me.username }) }));
    const reply = node("textarea", { name: "reply", rows: 2, maxLength: 500, placeholder: t("c_reply_placeholder") });
    actions.append(reply, node("button", { type: "button", textContent: t("c_answer"), dataset: { do: "answer" },
      onclick: () => act("answer", { reply: reply.value }) }));
    if (c.reply) actions.append(node("button", { type: "button", textContent: t("c_close"), dataset: { do: "close" }, onclick: () => act("close") }));
    item.append(actions);
  }
  item.append(said);
  return item;
}

async function loadComplaints() {
  if (!readsMembers(state.me?.role)) return;
  const list = document.getElementById("complaint-list");
  if (list.contains(document.activeElement)) return;  // not redrawn under someone typing an answer
  const answer = await api("GET", "/api/complaints");
  const message = document.getElementById("complaint-message");
  if (!answer.ok) { message.textContent = refusal(answer.status, await answer.json().catch(() => ({}))); return; }
  const open = await answer.json();
  list.replaceChildren(...open.map(complaintItem));
  message.textContent = open.length ? tf("c_open", { n: open.length, overdue: open.filter((c) => c.overdue).length }) : t("c_none");
  document.getElementById("feedback-link").textContent = tf("c_page_link", { url: `${location.origin}/f` });
}
