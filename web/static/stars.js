// The month's stars on the staff page (web/stars.py): now, and at the month's end if nothing more is done.
// Uses app.js's api, t, tf, state; node() from dom.js.
"use strict";

async function loadStars() {
  if (!state.me) return;
  const answer = await api("GET", "/api/stars");
  if (!answer.ok) return;
  const s = await answer.json();
  document.getElementById("stars-now").textContent = tf("st_now", { now: "★".repeat(s.stars), later: "★".repeat(s.projected_stars) });
  const missed = [...new Set([...s.missed, ...s.projected_missed])];
  document.getElementById("stars-missed").replaceChildren(...missed.map((rule) => node("li", {
    textContent: `${t(`st_rule.${rule}`)}${s.missed.includes(rule) ? "" : ` (${t("st_if_nothing_done")})`}`,
  })));
  document.getElementById("stars-report").href = `/api/stars/report?lang=${state.lang}`;
}
