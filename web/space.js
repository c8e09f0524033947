// A Space's page: built once, then each part patched in place as the Space changes, so what
// someone is typing or has focused survives captions, "talking" messages and stage changes.
import { $, h, patchList, say } from "./dom.js";
import { api, session } from "./transport.js";
import { changed, handleOf, isCohost, isHost, isModerator, isOver, me, room, speakerOf } from "./state.js";
import { listen, stopListening, unmute } from "./audio.js";
import { patchRoster, patchStage, sheet } from "./people.js";

const EMOJI = ["👏", "❤️", "😂", "🔥", "🙏", "💯"];

const act = (promise) => promise.catch((error) => { say(error.message); throw error; });
const call = (path, options = {}) => act(api(`/v1/spaces/${room.id}${path}`, { method: "POST", ...options }));

export function build(app) {
  app.replaceChildren(
    h("div", { id: "notice", role: "status", "aria-live": "assertive" }),
    h("section", { class: "head" },
      h("h1", { id: "title", tabindex: "-1" }),
      h("p", { class: "meta" }, h("span", { class: "badge", id: "state" }),
        h("span", { class: "badge rec", id: "recording", hidden: true }, "● Recording"),
        h("span", { class: "badge", id: "transcripts", hidden: true }, "Transcripts on"),
        h("span", { class: "muted" }, h("span", { id: "hosted" }), " · ", h("span", { id: "listeners" }),
          h("span", { id: "reminders" }))),
      h("p", { class: "muted share" }, "Share: ", h("a", { id: "share" })),
      h("p", { id: "pin", hidden: true })),
    h("section", { class: "stage-area", "aria-labelledby": "stage-title" },
      h("h2", { id: "stage-title" }, "On stage"),
      h("ul", { id: "stage", class: "people stage", "aria-label": "Speakers" }),
      h("div", { class: "floats", "aria-hidden": "true" }),
      h("span", { id: "reactions", "aria-live": "polite" })),
    h("div", { id: "mine", class: "row bar" }),
    h("div", { id: "reacting", class: "row", role: "group", "aria-label": "Reactions" },
      EMOJI.map((emoji) => h("button", { class: "emoji quiet", "aria-label": `React ${emoji}`, onclick: () => call("/reactions", { body: { emoji } }) }, emoji))),
    h("section", { id: "requests", "aria-labelledby": "requests-title", hidden: true },
      h("h2", { id: "requests-title" }, "Asking to speak"),
      h("ul", { id: "queue", class: "cards", "aria-label": "Requests to speak" })),
    h("section", { class: "audience", "aria-labelledby": "roster-title" },
      h("h2", { id: "roster-title" }, "Listening"),
      h("ul", { id: "roster", class: "people", "aria-label": "Listeners" }),
      h("p", { id: "roster-more", class: "muted" })),
    h("section", { id: "captions-area", "aria-label": "Captions", hidden: true }, h("h2", {}, "Captions"),
      h("ol", { id: "captions", class: "muted", "aria-live": "polite" })),
    h("section", { id: "controls" }),
    sheet());
}

export function patchView() {
  const v = room.view;
  document.title = v.title;
  $("#title").textContent = v.title;
  $("#state").textContent = v.state;
  $("#recording").hidden = !v.recording;
  $("#transcripts").hidden = !v.transcripts;
  $("#hosted").textContent = `Hosted by @${v.host.handle}`;
  patchCount(v.listener_count);
  $("#reminders").textContent = v.state === "created" && v.reminder_count
    ? ` · ${v.reminder_count} ${v.reminder_count === 1 ? "person wants" : "people want"} a reminder` : "";
  $("#share").href = v.link;
  $("#share").textContent = location.origin + v.link;
  // The API pins only http(s) URLs; the link opens apart from this page.
  $("#pin").hidden = !v.pin;
  $("#pin").replaceChildren(...(v.pin ? [h("span", { class: "badge" }, "📌 Pinned"), " ",
    h("a", { href: v.pin.url, target: "_blank", rel: "noopener noreferrer nofollow ugc" }, v.pin.title)] : []));
  $("#reacting").hidden = v.state !== "live" || room.ended || !session;
  $("#captions-area").hidden = !v.transcripts;
  patchStage();
  patchQueue();
  patchMine();
  patchControls();
  patchRoster();
}

export function patchCount(count) {
  $("#listeners").textContent = `${count} listening`;
}

export function patchTalking() {
  patchStage();
}

export function patchCaption(line) {
  room.captions.set(line.line_id, line);  // partial lines are replaced in place by their final text
  const lines = [...room.captions.values()].slice(-6);
  patchList($("#captions"), lines, (l) => l.line_id,
    () => h("li", {}, h("strong"), h("span")),
    (item, l) => {
      item.dataset.line = l.line_id;
      item.firstChild.textContent = `@${handleOf(l.speaker_id)}: `;
      item.lastChild.textContent = l.text;
    });
}

// Reactions float up over the stage; the counter says them in words too.
let cleared = null;
export function showReactions(counts) {
  const floats = $(".floats"), counter = $("#reactions");
  if (!counter) return;
  counter.textContent = Object.entries(counts).map(([emoji, count]) => `${emoji} ${count}`).join("  ");
  clearTimeout(cleared);
  cleared = setTimeout(() => { counter.textContent = ""; }, 3000);
  for (const [emoji, count] of Object.entries(counts)) {
    for (let i = 0; i < Math.min(count, 6); i++) {
      const float = h("span", { class: "float", style: `left:${10 + Math.random() * 80}%;animation-delay:${i * 120}ms` }, emoji);
      float.addEventListener("animationend", () => float.remove());
      floats.append(float);
    }
  }
}

// -- what the viewer does themselves --------------------------------------------------------------

export function patchMine() {
  const v = room.view, buttons = [];
  if (!isOver()) {
    if (v.state === "live") {
      buttons.push(room.listening
        ? h("button", { class: "quiet", onclick: stopListening }, "Stop listening")
        : h("button", { onclick: listen }, "Listen"));
      if (room.listening && room.listening.delayed) buttons.push(h("span", { class: "badge", id: "delayed" }, "Listening with a delay"));
    }
    const speaker = session && speakerOf(me());
    if (speaker && v.state === "live") {
      buttons.push(speaker.muted ? h("button", { onclick: () => act(unmute()) }, "Unmute to speak")
        : h("button", { class: "quiet", onclick: () => call(`/speakers/${me()}/mute`) }, "Mute"));
    }
    if (speaker && !isHost()) buttons.push(h("button", { class: "quiet", onclick: () => call(`/speakers/${me()}`, { method: "DELETE" }) }, "Leave the stage"));
    if (isCohost()) buttons.push(h("button", { class: "quiet", onclick: () => call(`/cohosts/${me()}`, { method: "DELETE" }) }, "Step down as co-host"));
    if (session && !speaker && v.state === "live") {
      buttons.push(v.asked_to_speak
        ? h("button", { class: "quiet", onclick: () => call(`/speak-requests/${me()}`, { method: "DELETE" }).then(() => changed("acted")) }, "Lower your hand")
        : h("button", { class: "quiet", onclick: () => call("/speak-requests").then(() => { say("The host has your request."); changed("acted"); }) }, "Request to speak"));
    }
    if (session && room.invited && !speaker) {
      buttons.push(h("button", { onclick: () => answer("accept") }, "Accept invitation"),
        h("button", { class: "quiet", onclick: () => answer("decline") }, "Decline"));
    }
    if (session && v.state === "created" && v.scheduled_for && !isHost()) {
      buttons.push(h("button", { class: "quiet", "aria-pressed": String(!!v.reminded),
        onclick: () => toggle(`/v1/spaces/${v.id}/reminders/me`, v.reminded) }, v.reminded ? "Reminder set" : "Remind me"));
    }
    if (session && !isHost()) {
      buttons.push(h("button", { class: "quiet", "aria-pressed": String(!!v.following_host),
        onclick: () => toggle(`/v1/accounts/${me()}/following/${v.host.id}`, v.following_host) },
        `${v.following_host ? "Following" : "Follow"} @${v.host.handle}`));
      if (v.following_host) {
        const on = !!v.host_go_live_notifications;
        buttons.push(h("button", { class: "quiet", "aria-pressed": String(on), "aria-label": `Go-live notifications from @${v.host.handle}`,
          onclick: () => toggle(`/v1/accounts/${me()}/following/${v.host.id}/notifications`, on) }, on ? "🔔 On" : "🔕 Off"));
      }
    }
  }
  // Rebuilt only when what it offers changes, so a focused button keeps its focus.
  const mine = $("#mine"), labels = buttons.map((b) => b.textContent).join("|");
  if (mine.dataset.labels !== labels) {
    const focused = mine.contains(document.activeElement) && document.activeElement.textContent;
    mine.dataset.labels = labels;
    mine.replaceChildren(...buttons);
    if (focused) [...mine.children].find((b) => b.textContent === focused)?.focus();
  }
}

// Sets (PUT) or clears (DELETE) one of the viewer's own switches, then reads the view again.
async function toggle(path, on) {
  await act(api(path, { method: on ? "DELETE" : "PUT" }));
  changed("acted");
}

async function answer(choice) {
  await call(`/invitations/${me()}/${choice}`);
  room.invited = false;
  patchMine();
}

// -- the host's and co-hosts' part --------------------------------------------------------------

function patchQueue() {
  const asking = isModerator() && !isOver() ? room.view.speak_requests || [] : [];
  $("#requests").hidden = !asking.length;
  patchList($("#queue"), asking, (p) => p.id,
    (p) => h("li", { class: "card" }, h("span", { class: "asker" }),
      h("span", { class: "row" },
        h("button", { onclick: () => call(`/speakers/${p.id}`, { method: "PUT" }) }, `Grant @${p.handle}`),
        h("button", { class: "quiet", onclick: () => call(`/speak-requests/${p.id}`, { method: "DELETE" }) }, `Dismiss @${p.handle}`))),
    (item, p) => { item.firstChild.textContent = `@${p.handle} asks to speak`; });
}

// Built again only when the viewer's part changes (host, co-host, the Space's state), so the
// pin form keeps what is typed in it through everything else.
function patchControls() {
  const v = room.view, controls = $("#controls");
  const part = isOver() || !isModerator() ? "" : `${isHost() ? "host" : "co-host"} ${v.state}`;
  if (controls.dataset.part !== part) {
    controls.dataset.part = part;
    controls.replaceChildren(...(part ? controlsFor(v).filter(Boolean) : []));
    controls.setAttribute("aria-label", part ? (isHost() ? "Host controls" : "Co-host controls") : "");
  }
  if (!part) return;
  $("#unpin").hidden = !v.pin;
  for (const name of ["transcripts", "recording"]) {
    const box = controls.querySelector(`input[name=${name}]`);
    if (box) box.checked = v[name];
  }
}

function controlsFor(v) {
  const pin = async (event) => {
    event.preventDefault();
    const form = event.target;
    await call("/pin", { method: "PUT", body: { url: form.url.value, title: form.title.value } });
    form.reset();
  };
  const toggle = (name) => (event) => call("", { method: "PATCH", body: { [name]: event.target.checked } });
  return [
    h("h2", {}, isHost() ? "Host controls" : "Co-host controls"),
    isHost() && v.state === "created" ? h("button", { onclick: () => call("/launch") }, "Launch") : null,
    h("p", { class: "muted" }, "Tap a person on the stage or among the listeners to invite, mute, remove or report them."),
    h("form", { class: "row", "aria-label": "Pin a link", onsubmit: pin },
      h("label", {}, "Pin a link", h("input", { name: "url", type: "url", placeholder: "https://…", required: true, maxlength: 2048 })),
      h("input", { name: "title", placeholder: "title", required: true, maxlength: 100, "aria-label": "Title of the link" }),
      h("button", {}, "Pin"),
      h("button", { type: "button", id: "unpin", class: "quiet", hidden: true, onclick: () => call("/pin", { method: "DELETE" }) }, "Unpin")),
    isHost() ? h("div", { class: "row" },
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "transcripts", onchange: toggle("transcripts") }), "Transcripts"),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "recording", onchange: toggle("recording") }), "Recording"),
      h("button", { class: "danger", onclick: () => call("/end") }, "End the Space")) : null,
  ];
}
