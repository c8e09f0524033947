// How an ended Space went, for its host: the figures of GET /v1/spaces/{id}/analytics.
import { h } from "./dom.js";
import { api } from "./transport.js";

const clock = (seconds) => {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
};

// The section, or null when the viewer may not read the figures (not the host, not ended).
export async function analyticsPanel(spaceId) {
  let a;
  try {
    a = (await api(`/v1/spaces/${spaceId}/analytics`)).data;
  } catch (error) {
    if ([401, 403, 404, 409].includes(error.status)) return null;
    throw error;
  }
  const figure = (label, value) => h("div", {}, h("dt", {}, label), h("dd", {}, String(value)));
  const reactions = Object.entries(a.reactions).map(([emoji, count]) => `${emoji} ${count}`).join("  ");
  return h("section", { id: "analytics", class: "panel", "aria-labelledby": "analytics-title" },
    h("h2", { id: "analytics-title" }, "How it went"),
    h("dl", { class: "figures" },
      figure("Length", clock(a.duration_seconds)),
      figure("Peak listeners", a.peak_listeners),
      figure("Unique listeners", a.unique_listeners),
      figure("Listen-minutes", a.listen_minutes.toFixed(1)),
      figure("Requests to speak", a.speak_requests),
      figure("Removals", a.removals),
      figure("Reactions", reactions || "none")),
    a.speakers.length ? h("ul", { class: "talk", "aria-label": "Talk time" },
      a.speakers.map((s) => h("li", {}, `@${s.handle || "?"} talked ${clock(s.talk_seconds)}`))) : null);
}
