// The people in a Space: the stage as a grid, the listeners below it, and the sheet that
// opens on a person with what the viewer may do to them.
import { $, avatar, h, patchList, say, setAvatar } from "./dom.js";
import { api } from "./transport.js";
import { actionsFor, changed, me, room, roleOf } from "./state.js";

function tile(person, kind) {
  const item = h("li", {},
    h("button", { type: "button", class: "person", "aria-haspopup": "dialog", onclick: (event) => openSheet(item.person, event.currentTarget) },
      h("span", { class: "ring" }, avatar(person, "big"), h("span", { class: "mic", "aria-hidden": "true" }, "🔇")),
      h("span", { class: "name" }),
      h("span", { class: "badge role" }),
      kind === "speaker" ? h("span", { class: "status muted" }) : null));
  return item;
}

function fill(item, person, kind) {
  item.person = person;
  item.setAttribute(`data-${kind}`, person.handle || "");
  setAvatar($(".avatar", item), person);
  $(".name", item).textContent = `@${person.handle || "?"}`;
  const role = person.id && roleOf(person.id), badge = $(".role", item);
  badge.hidden = !role;
  badge.textContent = role || "";
  if (role) badge.dataset.role = role; else delete badge.dataset.role;
  const talking = kind === "speaker" && !person.muted && room.talking.has(person.id);
  if (kind === "speaker") {
    item.className = talking ? "talking" : "";  // the only class: tests look for exactly it
    item.toggleAttribute("data-muted", person.muted);
    $(".status", item).textContent = person.muted ? "muted" : talking ? "talking" : "mic on";
  }
  // Not the words of the page's own buttons ("Listen", "Mute"), so neither names the other.
  const where = kind !== "speaker" ? "in the audience" : person.muted ? "on stage, mic off"
    : talking ? "on stage, speaking" : "on stage, mic on";
  $(".person", item).setAttribute("aria-label", `@${person.handle}${person.id === me() ? " (you)" : ""}${role ? `, ${role}` : ""}, ${where}`);
}

export function patchStage() {
  const stage = $("#stage");
  if (!stage) return;
  const speakers = [...room.view.speakers].sort((a, b) => rank(a) - rank(b));
  patchList(stage, speakers, (s) => s.id, (s) => tile(s, "speaker"), (item, s) => fill(item, s, "speaker"));
  patchSheet();
}

const rank = (person) => ({ host: 0, "co-host": 1 })[roleOf(person.id)] ?? 2;

// Moderators see everyone listening with an account; anyone else the count and a few handles.
export function patchRoster() {
  const list = $("#roster"), roster = room.roster;
  if (!list || !roster) return;
  const people = roster.items || roster.handles.map((handle) => ({ handle }));
  patchList(list, people, (p) => p.id || p.handle, (p) => tile(p, "listener"), (item, p) => fill(item, p, "listener"));
  const others = roster.listener_count - people.length;
  $("#roster-more").textContent = !roster.listener_count ? "Nobody is listening yet."
    : others > 0 ? `${people.length ? "and " : ""}${others} more listening` : "";
  patchSheet();
}

// -- the sheet ---------------------------------------------------------------------------------

let opener = null;

export function sheet() {
  return h("dialog", { id: "person", class: "sheet", "aria-labelledby": "person-name",
      onclose: () => { if (opener && opener.isConnected) opener.focus(); opener = null; } },
    h("div", { class: "who" }, h("span", { class: "avatar big", "aria-hidden": "true" }),
      h("div", {}, h("h2", { id: "person-name" }), h("p", { id: "person-role", class: "muted" }))),
    h("label", { class: "reason" }, "Reason", h("input", { id: "person-reason", maxlength: 500, placeholder: "Why (needed to report)" })),
    h("div", { id: "person-actions", class: "actions" }),
    h("p", { id: "person-notice", role: "status", class: "bad" }),
    h("form", { method: "dialog" }, h("button", { class: "quiet" }, "Close")));
}

function openSheet(person, from) {
  const dialog = $("#person");
  opener = from;
  dialog.person = person;
  $("#person-reason").value = "";
  $("#person-notice").textContent = "";
  patchSheet(true);
  dialog.showModal();
  ($("#person-actions button:not([disabled])") || $("form[method=dialog] button", dialog)).focus();
}

// Keeps the open sheet true to the Space as it changes, without undoing what is typed in it.
function patchSheet(force = false) {
  const dialog = $("#person");
  if (!dialog || (!dialog.open && !force)) return;
  const person = current(dialog.person);
  dialog.person = person;
  setAvatar($(".avatar", dialog), person);
  $("#person-name").textContent = `@${person.handle}`;
  const speaker = person.id && room.view.speakers.find((s) => s.id === person.id);
  const listening = room.roster && (room.roster.items || []).some((p) => p.id === person.id);
  $("#person-role").textContent = [roleOf(person.id), speaker ? (speaker.muted ? "on stage, muted" : "on stage")
    : listening || room.roster?.handles.includes(person.handle) ? "listening" : "not here now"].filter(Boolean).join(" · ");
  const actions = actionsFor(person), labels = actions.map((a) => a.label).join("|");
  const box = $("#person-actions");
  $(".reason", dialog).hidden = !actions.some((a) => a.reason);
  if (!force && box.dataset.labels === labels) return;
  box.dataset.labels = labels;
  const hadFocus = box.contains(document.activeElement);
  box.replaceChildren(...actions.map((action) => h("button", { type: "button", class: action.danger ? "danger" : null,
    disabled: !!action.disabled, onclick: () => take(action, person) }, action.label)));
  if (!actions.length) box.append(h("p", { class: "muted" }, "Nothing to do here."));
  if (hadFocus) ($("button:not([disabled])", box) || $("form[method=dialog] button", dialog)).focus();
}

// The freshest of what the page knows of a person (an id, a handle, being on the stage).
function current(person) {
  const all = [...room.view.speakers, room.view.host, ...(room.roster?.items || [])];
  return all.find((p) => (person.id ? p.id === person.id : p.handle === person.handle)) || person;
}

async function take(action, person) {
  const notice = $("#person-notice"), reason = $("#person-reason").value.trim();
  if (action.reason === "required" && !reason) {
    notice.textContent = "Say why you report them.";
    $("#person-reason").focus();
    return;
  }
  try {
    // People one sees only by handle (a few listeners, to anyone but moderators) are looked up.
    const id = person.id || (await api(`/v1/accounts?handle=${encodeURIComponent(person.handle)}`)).data.id;
    let body = action.body;
    if (action.reason) body = { user_id: id, reason: reason || null };
    await api(action.path, { method: action.method, body });
    $("#person").close();
    changed("acted");  // some acts (an invitation) reach only the person's stream, not this one
    if (action.label === "Report") say(`Thanks: @${person.handle} is reported.`);
  } catch (error) {
    notice.textContent = error.message;
  }
}
