// What this page knows of the Space it shows, and who may do what in it.
import { session } from "./transport.js";

export const room = {
  id: null, view: null, roster: null, invited: false, ended: false,
  talking: new Set(), captions: new Map(),
  listening: null, speaking: null, analyser: null,
};

// Parts of the page listen here for what changed ("audio", "view"), and patch themselves.
export const changes = new EventTarget();
export const changed = (what) => changes.dispatchEvent(new Event(what));

export const me = () => session && session.id;
export const isHost = (id = me()) => !!room.view && id === room.view.host.id;
export const isCohost = (id = me()) => !!room.view && room.view.cohosts.some((c) => c.id === id);
export const isModerator = () => !!session && (isHost() || isCohost());
export const roleOf = (id) => (isHost(id) ? "host" : isCohost(id) ? "co-host" : null);
export const speakerOf = (id) => room.view && room.view.speakers.find((s) => s.id === id);
export const isOver = () => room.ended || !room.view || room.view.state === "ended";

export function handleOf(id) {
  const known = room.view && [room.view.host, ...room.view.speakers].find((p) => p.id === id);
  return known ? known.handle : "speaker";
}

// What the signed-in viewer may do to `person` ({id, handle}), as the API allows it: the
// host all of it; a co-host all but naming co-hosts, handing over and blocking, and nothing
// to the host or another co-host; anyone signed in reports.
export function actionsFor(person) {
  const v = room.view, id = person.id, actions = [];
  if (!session || id === me() || isOver()) return actions;
  const space = `/v1/spaces/${v.id}`, speaker = id && speakerOf(id);
  const moderates = id && (isHost() || (isCohost() && !roleOf(id)));
  if (moderates && speaker) {
    if (!speaker.muted) actions.push({ label: "Mute", method: "POST", path: `${space}/speakers/${id}/mute` });
    actions.push({ label: "Take off the stage", method: "DELETE", path: `${space}/speakers/${id}` });
  } else if (moderates && (v.speak_requests || []).some((p) => p.id === id)) {
    actions.push({ label: "Let them speak", method: "PUT", path: `${space}/speakers/${id}` });
  } else if (moderates && v.state === "live") {
    const invited = (v.open_invitations || []).includes(id);
    actions.push(invited ? { label: "Invited to speak", disabled: true }
      : { label: "Invite to speak", method: "POST", path: `${space}/invitations`, body: { user_id: id } });
  }
  if (isHost() && id) {
    if (isCohost(id)) {
      actions.push({ label: "Hand over the Space", method: "POST", path: `${space}/host`, body: { user_id: id } },
        { label: "No longer co-host", method: "DELETE", path: `${space}/cohosts/${id}` });
    } else if (v.cohosts.length < 2) {
      actions.push({ label: "Make co-host", method: "PUT", path: `${space}/cohosts/${id}` });
    }
  }
  if (moderates) actions.push({ label: "Remove", danger: true, reason: "optional", method: "POST", path: `${space}/removals` });
  if (isHost() && id) actions.push({ label: "Block", danger: true, reason: "optional", method: "POST", path: `${space}/blocks` });
  actions.push({ label: "Report", danger: true, reason: "required", method: "POST", path: `${space}/reports` });
  return actions;
}
