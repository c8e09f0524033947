// The Space's audio: WHEP to listen (HLS when every media node is full), WHIP to speak.
import { h, say } from "./dom.js";
import { api, session } from "./transport.js";
import { changed, me, room } from "./state.js";

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

export async function listen() {
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
  changed("audio");
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
  changed("audio");
}

export function stopListening() {
  if (!room.listening) return;
  if (room.listening.pc) room.listening.pc.close();
  if (room.listening.hls) room.listening.hls.destroy();
  if (room.listening.element) room.listening.element.remove();
  if (room.analyser) room.analyser.context.close();
  room.analyser = null;
  if (room.listening.location) api(room.listening.location, { method: "DELETE" }).catch(() => {});
  room.listening = null;
  changed("audio");
}

async function publish(microphone) {
  const pc = new RTCPeerConnection({ iceServers: [] });
  microphone.getTracks().forEach((track) => pc.addTrack(track, microphone));
  for (let i = 0; i < 9; i++) pc.addTransceiver("audio", { direction: "recvonly" });  // the other speakers
  pc.addEventListener("track", (event) => play(new MediaStream([event.track])));
  room.speaking = { pc, microphone };
  try {
    room.speaking.location = await negotiate(pc, `/v1/spaces/${room.id}/audio/publish`);
  } catch (error) { say(error.message); throw error; }
}

export async function unmute() {
  if (!room.speaking) await publish(await navigator.mediaDevices.getUserMedia({ audio: true }));
  await api(`/v1/spaces/${room.id}/speakers/${me()}/unmute`, { method: "POST" });
}

// A media node that carried this Space's audio died or left: whoever it served (everyone, if
// it was the Space's origin) offers again and lands on a live node. A session's id names its node.
export async function reconnect({ node, origin }) {
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

export function leaveAudio() {
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
