// The station's supplies on the staff page (web/supplies.py): what is on the shelves, and a move recorded in a few taps.
// Uses app.js's api, t, tf, refusal, labelFor, state; node() from dom.js.
"use strict";

const MOVE_KINDS = ["used", "delivered", "counted", "lent", "returned", "moved"];
const placeName = (place) => { const said = t(`place.${place}`); return said === `place.${place}` ? place : said; };

function supplyItem(s) {
  const item = node("li", { className: `supply ${s.alarms.map((a) => `alarm-${a}`).join(" ")}`, dataset: { supply: s.id } });
  const badge = !s.counted ? t("s_not_counted") : s.alarms.includes("stock_out") ? t("s_out") : s.alarms.includes("stock_low") ? t("s_low") : "";
  const places = Object.entries(s.places).map(([place, quantity]) => `${placeName(place)} ${quantity}`).join(" · ");
  item.append(
    node("p", {}, node("strong", { textContent: labelFor(s.label) }), s.counted ? ` ${s.total} ${labelFor(s.unit)}` : "",
      badge ? node("span", { className: "status", textContent: ` ${badge}` }) : ""),
    node("small", { textContent: `${places} · ${tf("s_reorder", { n: s.reorder_at })}` }),
  );
  return item;
}

function fillSupplyForm(items) {
  const form = document.getElementById("supply-form");
  const chosen = form.item.value;
  form.item.replaceChildren(...items.map((s) => node("option", { value: s.id, textContent: labelFor(s.label) })));
  if (items.some((s) => s.id === chosen)) form.item.value = chosen;
  const kind = form.kind.value;
  form.kind.replaceChildren(...MOVE_KINDS.map((k) => node("option", { value: k, textContent: t(`s_kind_${k}`) })));
  if (kind) form.kind.value = kind;
  fillPlaces(items);
}

function fillPlaces(items) {
  const form = document.getElementById("supply-form");
  const supply = items.find((s) => s.id === form.item.value);
  const places = supply ? Object.keys(supply.places) : [];
  for (const select of [form.place, form.to]) {
    const chosen = select.value;
    select.replaceChildren(...places.map((p) => node("option", { value: p, textContent: placeName(p) })));
    if (places.includes(chosen)) select.value = chosen;
  }
  if (form.to.value === form.place.value && places.length > 1) form.to.value = places.find((p) => p !== form.place.value);
  form.querySelector(".moved-to").hidden = form.kind.value !== "moved";
}

async function loadSupplies() {
  if (!state.me) return;
  const answer = await api("GET", "/api/supplies");
  if (!answer.ok) return;
  const items = await answer.json();
  state.supplyItems = items;
  state.supplyLabels = Object.fromEntries(items.map((s) => [s.id, s.label]));
  document.getElementById("supply-list").replaceChildren(...(items.length ? items.map(supplyItem) : [node("li", { className: "hint", textContent: t("s_none") })]));
  const form = document.getElementById("supply-form");
  if (!form.contains(document.activeElement)) fillSupplyForm(items);  // not redrawn under a custodian's finger
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("supply-form");
  for (const field of [form.item, form.kind, form.place]) field.addEventListener("change", () => fillPlaces(state.supplyItems || []));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = document.getElementById("supply-message");
    const body = { kind: form.kind.value, quantity: Number(form.quantity.value), place: form.place.value, note: form.note.value };
    if (body.kind === "moved") body.to = form.to.value;
    const answered = await api("POST", `/api/supplies/${encodeURIComponent(form.item.value)}/moves`, body);
    const said = await answered.json().catch(() => ({}));
    if (!answered.ok) { message.textContent = refusal(answered.status, said); return; }
    message.textContent = said.short ? tf("s_short", { short: said.short }) : tf("s_saved", { item: labelFor(said.label), total: said.total });
    form.quantity.value = "";
    form.note.value = "";
    document.activeElement.blur();
    loadSupplies();
  });
});
