// Spaces web client: plain modules, no build step. Talks to the v1 API of the same server.
const $ = (selector, root = document) => root.querySelector(selector);
const app = $("#app");
const session = JSON.parse(localStorage.getItem("spaces.session") || "null");
const EMOJI = ["👏", "❤️", "😂", "🔥", "🙏", "💯"];

// The highest event store position this page wrote or was told of: view reads pass it as
// ?after= so a page never shows views older than what it just did or heard on the stream.
// Kept per tab across navigations; forgotten if the views cannot reach it (a reset server).
let reached = Number(sessionStorage.getItem("spaces.reached") || 0);
function reach(position) {
  if (typeof position === "number" && position > reached) sessionStorage.setItem("spaces.reached", reached = position);
}

async function api(path, options = {}) {
  if ((options.method || "GET") !== "GET" || !reached) return request(path, options);
  try {
    return await request(`${path}${path.includes("?") ? "&" : "?"}after=${reached}`, options);
  } catch (error) {
    if (error.status !== 503) throw error;
    sessionStorage.removeItem("spaces.reached");
    reached = 0;
    return request(path, options);
  }
}

async function request(path, { method = "GET", body, sdp } = {}) {
  const headers = {};
  if (session) headers.Authorization = `Bearer ${session.token}`;
  if (sdp !== undefined) headers["Content-Type"] = "application/sdp";
  else if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers,
    body: sdp !== undefined ? sdp : body !== undefined ? JSON.stringify(body) : undefined });
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw Object.assign(new Error(data.detail || response.statusText), { status: response.status, response, data });
  reach(data?.position);
  return { data, response };
}

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (value !== false && value != null) element.setAttribute(key, value === true ? "" : value);
  }
  element.append(...children.flat().filter((c) => c != null && c !== false));
  return element;
}

function say(message) { $("#notice") && ($("#notice").textContent = message); }

async function act(promise) {
  try { return await promise; } catch (error) { say(error.message); throw error; }
}

// -- home: sign up, listing, feed, create -----------------------------------------------------

async function home() {
  app.replaceChildren(h("div", { id: "notice", role: "status", "aria-live": "polite" }));
  if (!session) {
    app.append(h("h1", {}, "Join Spaces"),
      h("form", { class: "row", onsubmit: signUp },
        h("label", {}, "Handle", h("input", { name: "handle", required: true, pattern: "[A-Za-z0-9_]{1,30}", autocomplete: "username" })),
        h("button", { type: "submit" }, "Sign up")));
  } else {
    app.append(h("h1", {}, "Start a Space"), createForm());
    const feed = await api("/v1/feed").catch(() => ({ data: { items: [] } }));
    app.append(h("h2", {}, "From people you follow"), spaceList(feed.data.items, "Nothing from people you follow yet."));
  }
  const listing = await api("/v1/spaces");
  app.append(h("h2", {}, "Live now"), spaceList(listing.data.items, "No Space is live right now."));
}

async function signUp(event) {
  event.preventDefault();
  const { data } = await act(api("/v1/accounts", { method: "POST", body: { handle: event.target.handle.value } }));
  localStorage.setItem("spaces.session", JSON.stringify(data));
  location.reload();
}

function createForm() {
  return h("form", { class: "row", "aria-label": "Create a Space", onsubmit: async (event) => {
      event.preventDefault();
      const form = event.target;
      const body = { title: form.title.value, speaker_policy: form.policy.value,
        transcripts: form.transcripts.checked, recording: form.recording.checked };
      if (form.when.value) body.scheduled_for = new Date(form.when.value).toISOString();
      const { data } = await act(api("/v1/spaces", { method: "POST", body }));
      location.href = data.link;
    } },
    h("label", {}, "Title", h("input", { name: "title", required: true, maxlength: 120 })),
    h("label", {}, "Who may ask to speak", h("select", { name: "policy" },
      h("option", { value: "everyone" }, "Everyone"), h("option", { value: "following" }, "People I follow"),
      h("option", { value: "invited" }, "Only people I invite"))),
    h("label", {}, h("input", { type: "checkbox", name: "transcripts" }), "Transcripts"),
    h("label", {}, h("input", { type: "checkbox", name: "recording" }), "Recording"),
    h("label", {}, "Start later", h("input", { type: "datetime-local", name: "when" })),
    h("button", { type: "submit" }, "Create"));
}

function spaceList(items, empty) {
  if (!items.length) return h("p", { class: "muted" }, empty);
  return h("ul", { class: "cards" }, items.map((space) => h("li", {},
    h("a", { href: space.link }, space.title), " ",
    h("span", { class: "muted" }, `@${space.host.handle} · ${space.state === "live" ? `${space.listener_count} listening` : "starts " + new Date(space.scheduled_for).toLocaleString()}`))));
}

// -- a Space ------------------------------------------------------------------------------------

const room = { id: null, view: null, stream: null, listening: null, speaking: null, analyser: null, ended: false, captions: {}, talking: new Set() };

function handle(id) {
  const known = room.view && [room.view.host, ...room.view.speakers].find((p) => p.id === id);
  return known ? known.handle : "speaker";
}

async function spacePage(id) {
  room.id = id;
  try {
    room.view = (await api(`/v1/spaces/${id}`)).data;
  } catch (error) {
    app.replaceChildren(h("p", { id: "notice", role: "status" }, error.message));
    return;
  }
  render();
  follow();
}

async function refresh() {
  try { room.view = (await api(`/v1/spaces/${room.id}`)).data; render(); } catch (error) {
    if (error.status === 403) leaveAudio();  // removed or blocked: may come before the stream says so
    say(error.message);
  }
}

function me() { return session && session.id; }
function isHost() { return room.view && me() === room.view.host.id; }
function isCohost(id = me()) { return !!room.view && room.view.cohosts.some((c) => c.id === id); }
function isModerator() { return isHost() || isCohost(); }
function role(id) { return id === room.view.host.id ? "host" : isCohost(id) ? "co-host" : null; }
function onStage() { return room.view && room.view.speakers.find((s) => s.id === me()); }

function render() {
  const v = room.view;
  // A co-host moderates everyone on the stage but the host and the other co-hosts.
  const mayModerate = (id) => id !== me() && !room.ended && (isHost() || (isCohost() && !role(id)));
  const speakerItems = v.speakers.map((speaker) => h("li", { "data-speaker": speaker.handle,
      class: room.talking.has(speaker.id) ? "talking" : null },
    h("strong", {}, `@${speaker.handle}`),
    role(speaker.id) ? h("span", { class: "badge", "data-role": role(speaker.id) }, role(speaker.id)) : null,
    h("div", { class: "muted" }, speaker.muted ? "muted" : room.talking.has(speaker.id) ? "talking" : "mic on"),
    mayModerate(speaker.id) ? h("div", { class: "controls row" },
      h("button", { class: "quiet", onclick: () => act(api(`/v1/spaces/${v.id}/speakers/${speaker.id}/mute`, { method: "POST" })) }, `Mute @${speaker.handle}`),
      h("button", { class: "quiet", onclick: () => act(api(`/v1/spaces/${v.id}/speakers/${speaker.id}`, { method: "DELETE" })) }, `Revoke @${speaker.handle}`),
      isHost() ? (isCohost(speaker.id)
        ? h("button", { class: "quiet", onclick: () => act(api(`/v1/spaces/${v.id}/cohosts/${speaker.id}`, { method: "DELETE" })) }, `Let @${speaker.handle} go as co-host`)
        : h("button", { class: "quiet", onclick: () => act(api(`/v1/spaces/${v.id}/cohosts/${speaker.id}`, { method: "PUT" })) }, `Make @${speaker.handle} co-host`)) : null,
      isHost() && isCohost(speaker.id) ? h("button", { class: "quiet", onclick: () => act(api(`/v1/spaces/${v.id}/host`, { method: "POST", body: { user_id: speaker.id } })) }, `Hand over to @${speaker.handle}`) : null) : null));
  app.replaceChildren(
    h("div", { id: "notice", role: "status", "aria-live": "assertive" }),
    h("h1", {}, v.title),
    h("p", {}, h("span", { class: "badge", id: "state" }, v.state),
      v.recording ? h("span", { class: "badge rec", id: "recording" }, "● Recording") : null,
      v.transcripts ? h("span", { class: "badge" }, "Transcripts on") : null,
      h("span", { class: "muted" }, `Hosted by @${v.host.handle} · `, h("span", { id: "listeners" }, `${v.listener_count} listening`))),
    h("p", { class: "muted" }, "Share: ", h("a", { href: v.link }, location.origin + v.link)),
    // The API pins only http(s) URLs; the link opens apart from this page.
    v.pin ? h("p", { id: "pin" }, h("span", { class: "badge" }, "Pinned"), " ",
      h("a", { href: v.pin.url, target: "_blank", rel: "noopener noreferrer nofollow ugc" }, v.pin.title)) : null,
    h("h2", {}, "On stage"), h("ul", { class: "stage", "aria-label": "Speakers" }, speakerItems),
    h("div", { class: "row" }, ...myButtons()),
    v.state === "live" ? h("div", { class: "row", role: "group", "aria-label": "Reactions" },
      EMOJI.map((emoji) => h("button", { class: "quiet", "aria-label": `React ${emoji}`, onclick: () => react(emoji) }, emoji))) : null,
    h("div", { id: "reactions", "aria-live": "polite" }),
    v.transcripts ? h("section", { "aria-label": "Captions" }, h("h2", {}, "Captions"),
      h("ol", { id: "captions", class: "muted", "aria-live": "polite" },
        Object.values(room.captions).slice(-6).map((line) => h("li", { "data-line": line.line_id },
          h("strong", {}, `@${handle(line.speaker_id)}: `), line.text)))) : null,
    isModerator() && !room.ended ? hostPanel() : null);
}

function myButtons() {
  const v = room.view, buttons = [];
  if (v.state === "ended") return buttons;
  if (v.state === "live") {
    buttons.push(room.listening
      ? h("button", { class: "quiet", onclick: stopListening }, "Stop listening")
      : h("button", { onclick: listen }, "Listen"));
    if (room.listening && room.listening.delayed) buttons.push(h("span", { class: "badge", id: "delayed" }, "Listening with a delay"));
  }
  if (!session) return buttons;
  const speaker = onStage();
  if (speaker && v.state === "live") {
    buttons.push(speaker.muted ? h("button", { onclick: unmute }, "Unmute to speak")
      : h("button", { class: "quiet", onclick: () => act(api(`/v1/spaces/${v.id}/speakers/${me()}/mute`, { method: "POST" })) }, "Mute"));
  }
  if (speaker && !isHost()) buttons.push(h("button", { class: "quiet", onclick: () => act(api(`/v1/spaces/${v.id}/speakers/${me()}`, { method: "DELETE" })) }, "Leave the stage"));
  if (isCohost()) buttons.push(h("button", { class: "quiet", onclick: () => act(api(`/v1/spaces/${v.id}/cohosts/${me()}`, { method: "DELETE" })) }, "Step down as co-host"));
  if (!speaker && v.state === "live") buttons.push(h("button", { class: "quiet", onclick: () => act(api(`/v1/spaces/${v.id}/speak-requests`, { method: "POST" })).then(() => say("The host has your request.")) }, "Request to speak"));
  if (room.invited) {
    buttons.push(h("button", { onclick: () => answer("accept") }, "Accept invitation"),
      h("button", { class: "quiet", onclick: () => answer("decline") }, "Decline"));
  }
  return buttons;
}

async function answer(choice) {
  await act(api(`/v1/spaces/${room.id}/invitations/${me()}/${choice}`, { method: "POST" }));
  room.invited = false;
  await refresh();
}

function hostPanel() {
  const v = room.view;
  const byHandle = async (handle) => (await api(`/v1/accounts?handle=${encodeURIComponent(handle)}`)).data.id;
  const moderate = (path, extra = {}) => async (event) => {
    event.preventDefault();
    const form = event.target;
    const user_id = await act(byHandle(form.handle.value));
    await act(api(`/v1/spaces/${v.id}/${path}`, { method: "POST", body: { user_id, ...extra(form) } }));
    form.reset();
  };
  const pin = async (event) => {
    event.preventDefault();
    const form = event.target;
    await act(api(`/v1/spaces/${v.id}/pin`, { method: "PUT", body: { url: form.url.value, title: form.title.value } }));
    form.reset();
  };
  return h("section", { "aria-label": isHost() ? "Host controls" : "Co-host controls" },
    h("h2", {}, isHost() ? "Host controls" : "Co-host controls"),
    isHost() && v.state === "created" ? h("button", { onclick: () => act(api(`/v1/spaces/${v.id}/launch`, { method: "POST" })).then(refresh) }, "Launch") : null,
    (v.speak_requests || []).length ? h("ul", { class: "cards", "aria-label": "Requests to speak" }, v.speak_requests.map((person) =>
      h("li", {}, `@${person.handle} asks to speak `, h("button", { onclick: () => act(api(`/v1/spaces/${v.id}/speakers/${person.id}`, { method: "PUT" })) }, `Grant @${person.handle}`)))) : null,
    h("form", { class: "row", onsubmit: moderate("invitations", () => ({})) },
      h("label", {}, "Invite", h("input", { name: "handle", placeholder: "handle", required: true })), h("button", {}, "Invite")),
    h("form", { class: "row", onsubmit: moderate("removals", (f) => ({ reason: f.reason.value || null })) },
      h("label", {}, "Remove", h("input", { name: "handle", placeholder: "handle", required: true })),
      h("input", { name: "reason", placeholder: "reason", "aria-label": "Reason for removal" }), h("button", { class: "danger" }, "Remove")),
    isHost() ? h("form", { class: "row", onsubmit: moderate("blocks", (f) => ({ reason: f.reason.value || null })) },
      h("label", {}, "Block", h("input", { name: "handle", placeholder: "handle", required: true })),
      h("input", { name: "reason", placeholder: "reason", "aria-label": "Reason for block" }), h("button", { class: "danger" }, "Block")) : null,
    h("form", { class: "row", onsubmit: moderate("reports", (f) => ({ reason: f.reason.value })) },
      h("label", {}, "Report", h("input", { name: "handle", placeholder: "handle", required: true })),
      h("input", { name: "reason", placeholder: "reason", required: true, "aria-label": "Reason for report" }), h("button", { class: "danger" }, "Report")),
    h("form", { class: "row", "aria-label": "Pin a link", onsubmit: pin },
      h("label", {}, "Pin a link", h("input", { name: "url", type: "url", placeholder: "https://…", required: true, maxlength: 2048 })),
      h("input", { name: "title", placeholder: "title", required: true, maxlength: 100, "aria-label": "Title of the link" }),
      h("button", {}, "Pin"),
      v.pin ? h("button", { type: "button", class: "quiet", onclick: () => act(api(`/v1/spaces/${v.id}/pin`, { method: "DELETE" })) }, "Unpin") : null),
    isHost() ? h("div", { class: "row" },
      h("label", {}, h("input", { type: "checkbox", checked: v.transcripts, onchange: (e) => act(api(`/v1/spaces/${v.id}`, { method: "PATCH", body: { transcripts: e.target.checked } })) }), "Transcripts"),
      h("label", {}, h("input", { type: "checkbox", checked: v.recording, onchange: (e) => act(api(`/v1/spaces/${v.id}`, { method: "PATCH", body: { recording: e.target.checked } })) }), "Recording"),
      h("button", { class: "danger", onclick: () => act(api(`/v1/spaces/${v.id}/end`, { method: "POST" })) }, "End the Space")) : null);
}

// -- the live stream ----------------------------------------------------------------------------

function follow() {
  const query = session ? `?access_token=${encodeURIComponent(session.token)}` : "";
  const stream = room.stream = new EventSource(`/v1/spaces/${room.id}/stream${query}`);
  const refreshAfter = (event) => { reach(JSON.parse(event.data).position); refresh(); };
  for (const kind of ["stage", "switches", "state", "speak_request", "pin"]) stream.addEventListener(kind, refreshAfter);
  stream.addEventListener("listeners", refresh);
  stream.addEventListener("snapshot", (event) => {
    room.invited = !!JSON.parse(event.data).invited;
    refresh();
  });
  stream.addEventListener("invitation", () => { room.invited = true; render(); say("The host invites you to speak."); });
  stream.addEventListener("reactions", (event) => showReactions(JSON.parse(event.data)));
  stream.addEventListener("talking", (event) => { room.talking = new Set(JSON.parse(event.data).speakers); render(); });
  stream.addEventListener("caption", (event) => {
    const line = JSON.parse(event.data);
    room.captions[line.line_id] = line;  // partial lines are replaced in place by their final text
    render();
  });
  stream.addEventListener("reconnect", (event) => reconnect(JSON.parse(event.data)));
  stream.addEventListener("removed", () => { leaveAudio(); stream.close(); room.ended = true; say("You were removed from this Space."); });
  stream.addEventListener("ended", async (event) => {
    leaveAudio(); stream.close(); room.ended = true;
    reach(JSON.parse(event.data).position);
    await refresh();
    say("This Space has ended.");
  });
}

function showReactions(counts) {
  const shown = $("#reactions");
  shown.textContent = Object.entries(counts).map(([emoji, count]) => `${emoji} ${count}`).join("  ");
  setTimeout(() => { if (shown.isConnected) shown.textContent = ""; }, 3000);
}

async function react(emoji) { await act(api(`/v1/spaces/${room.id}/reactions`, { method: "POST", body: { emoji } })); }

// -- audio: WHEP to listen, WHIP to speak ---------------------------------------------------------

async function negotiate(pc, path) {
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === "complete") return done();
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && done());
  });
  const { data, response } = await api(path, { method: "POST", sdp: pc.localDescription.sdp });
  await pc.setRemoteDescription({ type: "answer", sdp: data });
  return response.headers.get("location");
}

function play(stream) {
  const element = h("audio", { autoplay: true });
  element.srcObject = stream;
  document.body.append(element);
  element.play().catch(() => {});
  return element;
}

async function listen() {
  const pc = new RTCPeerConnection({ iceServers: [] });
  pc.addTransceiver("audio", { direction: "recvonly" });
  pc.addEventListener("track", (event) => {
    const stream = event.streams[0] || new MediaStream([event.track]);
    const element = play(stream);
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 8192;
    context.createMediaStreamSource(stream).connect(analyser);
    room.listening.element = element;
    room.analyser = { context, analyser };
  });
  room.listening = { pc };
  try {
    room.listening.location = await negotiate(pc, `/v1/spaces/${room.id}/audio/listen`);
  } catch (error) {
    pc.close();
    room.listening = null;
    const alternate = error.status === 503 && alternateOf(error.response);
    if (alternate) return listenWithDelay(alternate);
    say(error.message);
    return;
  }
  render();
}

// The URL a `Link: <…>; rel="alternate"` header names: where the media nodes, being full,
// send listeners instead (the Space's mix as HLS).
function alternateOf(response) {
  const link = response.headers.get("link") || "";
  const found = link.match(/<([^>]+)>\s*;\s*rel="?alternate"?/);
  return found && found[1];
}

// The same mix as low-latency HLS, played by hls.js (pinned, served from /web/vendor). Playlist
// reloads carry the token, so a removal stops them; parts and segments go without one, so any
// HTTP cache can share them.
const HLS_JS = "/web/vendor/hls-1.7.4.min.mjs";
async function listenWithDelay(url) {
  let Hls;
  try { ({ default: Hls } = await import(HLS_JS)); } catch (error) {
    say("Every media node is full and this page cannot play the delayed stream.");
    return;
  }
  const element = h("audio", { autoplay: true });
  document.body.append(element);
  const hls = new Hls({
    lowLatencyMode: true,
    xhrSetup: (xhr, target) => { if (session && target.includes(".m3u8")) xhr.setRequestHeader("Authorization", `Bearer ${session.token}`); },
  });
  hls.on(Hls.Events.ERROR, (_, data) => { if (data.fatal) { say("The delayed stream stopped."); stopListening(); } });
  hls.loadSource(url);
  hls.attachMedia(element);
  element.play().catch(() => {});
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 8192;
  const source = context.createMediaElementSource(element);
  source.connect(analyser);
  analyser.connect(context.destination);
  room.listening = { hls, element, delayed: true };
  room.analyser = { context, analyser };
  render();
}

function stopListening() {
  if (!room.listening) return;
  if (room.listening.pc) room.listening.pc.close();
  if (room.listening.hls) room.listening.hls.destroy();
  if (room.listening.element) room.listening.element.remove();
  if (room.analyser) room.analyser.context.close();
  room.analyser = null;
  if (room.listening.location) api(room.listening.location, { method: "DELETE" }).catch(() => {});
  room.listening = null;
  render();
}

async function publish(microphone) {
  const pc = new RTCPeerConnection({ iceServers: [] });
  microphone.getTracks().forEach((track) => pc.addTrack(track, microphone));
  for (let i = 0; i < 9; i++) pc.addTransceiver("audio", { direction: "recvonly" });  // the other speakers
  pc.addEventListener("track", (event) => play(new MediaStream([event.track])));
  room.speaking = { pc, microphone };
  room.speaking.location = await act(negotiate(pc, `/v1/spaces/${room.id}/audio/publish`));
}

async function unmute() {
  if (!room.speaking) await publish(await navigator.mediaDevices.getUserMedia({ audio: true }));
  await act(api(`/v1/spaces/${room.id}/speakers/${me()}/unmute`, { method: "POST" }));
}

// A media node that carried this Space's audio died or left: whoever it served (everyone, if
// it was the Space's origin) offers again and lands on a live node. A session's id names its node.
async function reconnect({ node, origin }) {
  const served = (audio) => audio && (origin || (audio.location || "").split("/").pop().split(".")[0] === node);
  if (served(room.speaking)) {
    const { pc, microphone } = room.speaking;
    pc.close();
    await publish(microphone);
  }
  if (served(room.listening)) {
    stopListening();
    await listen();
  }
}

function leaveAudio() {
  stopListening();
  if (room.speaking) {
    room.speaking.pc.close();
    room.speaking.microphone.getTracks().forEach((track) => track.stop());
    room.speaking = null;
  }
}

// What the page hears, for people (a level meter could use it) and for tests: the loudest
// frequency, and the level (dB) around `hz` when asked.
window.spacesHearing = (hz) => {
  if (!room.analyser) return null;
  const { context, analyser } = room.analyser;
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  const width = context.sampleRate / analyser.fftSize;
  let loudest = 1;
  for (let i = 2; i < bins.length; i++) if (bins[i] > bins[loudest]) loudest = i;
  let around = -Infinity;
  if (hz) for (let i = Math.floor(hz / width) - 2; i <= Math.ceil(hz / width) + 2; i++) around = Math.max(around, bins[i]);
  return { peakHz: loudest * width, level: bins[loudest], levelAt: around };
};

// -- start ----------------------------------------------------------------------------------------

if (session) $("#me").textContent = `@${session.handle}`;
const match = location.pathname.match(/^\/s\/([0-9a-f-]+)$/);
if (match) spacePage(match[1]); else home();
