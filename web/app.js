// Spaces web client: plain ES modules, no build step. Talks to the v1 API of the same server.
// This module routes to a page and wires the Space's live stream to the parts it changes.
import { $, h, say } from "./dom.js";
import { api, follow, session } from "./transport.js";
import { changes, isHost, room } from "./state.js";
import { leaveAudio, reconnect } from "./audio.js";
import { analyticsPanel } from "./analytics.js";
import { home } from "./home.js";
import { bell, notificationsPage } from "./notifications.js";
import { build, patchCaption, patchCount, patchMine, patchTalking, patchView, showReactions } from "./space.js";
import { patchRoster } from "./people.js";

const app = $("#app");

// Reads that answer out of order are dropped: only the latest asked for is shown.
function latest(read, show) {
  let asked = 0;
  return async () => {
    const mine = ++asked;
    try {
      const answer = await read();
      if (mine === asked) show(answer);
    } catch (error) {
      if (mine !== asked || room.ended) return;  // after the end or a removal, the page has said why
      if (error.status === 403) leaveAudio();  // removed or blocked: may come before the stream says so
      say(error.message);
    }
  };
}

const refreshView = latest(async () => (await api(`/v1/spaces/${room.id}`)).data,
  (view) => { room.view = view; patchView(); });
const refreshRoster = latest(async () => (await api(`/v1/spaces/${room.id}/listeners`)).data,
  (roster) => { room.roster = roster; patchRoster(); });

async function showAnalytics() {
  const panel = await analyticsPanel(room.id).catch((error) => { say(error.message); });
  if (panel) app.append(panel);
}

async function spacePage(id) {
  room.id = id;
  try {
    room.view = (await api(`/v1/spaces/${id}`)).data;
  } catch (error) {
    app.replaceChildren(h("p", { id: "notice", role: "status" }, error.message));
    if (error.status === 410 && session) showAnalytics();  // its host still reads how it went
    return;
  }
  build(app);
  patchView();
  changes.addEventListener("audio", patchMine);
  changes.addEventListener("acted", refreshView);
  refreshRoster();
  const stream = follow(`/v1/spaces/${id}/stream`, {
    snapshot: (data) => { room.invited = !!data.invited; refreshView(); refreshRoster(); },
    stage: refreshView, switches: refreshView, state: refreshView, speak_request: refreshView, pin: refreshView,
    listeners: (data) => { patchCount(data.count); refreshRoster(); },
    invitation: () => { room.invited = true; patchMine(); say("The host invites you to speak."); },
    reactions: showReactions,
    talking: (data) => { room.talking = new Set(data.speakers); patchTalking(); },
    caption: patchCaption,
    reconnect,
    removed: () => {
      leaveAudio(); stream.close(); room.ended = true;
      patchView();
      say("You were removed from this Space.");
    },
    ended: async () => {
      leaveAudio(); stream.close(); room.ended = true;
      await refreshView();
      refreshRoster();
      say("This Space has ended.");
      if (isHost()) showAnalytics();
    },
  });
}

const match = location.pathname.match(/^\/s\/([0-9a-f-]+)$/);
if (session) {
  $("#me").textContent = `@${session.handle}`;
  bell($("header"), !match);
}
if (match) spacePage(match[1]);
else if (location.pathname === "/notifications" && session) notificationsPage(app);
else home(app);
