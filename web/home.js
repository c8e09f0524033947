// The home page: sign up, start a Space, search, the feed and what is live.
import { $, avatar, h, say } from "./dom.js";
import { api, session } from "./transport.js";

export async function home(app) {
  app.replaceChildren(h("div", { id: "notice", role: "status", "aria-live": "polite" }));
  if (!session) {
    app.append(h("section", { class: "panel" }, h("h1", {}, "Join Spaces"),
      h("p", { class: "muted" }, "Live audio rooms: listen in, ask to speak, talk with people."),
      h("form", { class: "row", onsubmit: signUp },
        h("label", {}, "Handle", h("input", { name: "handle", required: true, pattern: "[A-Za-z0-9_]{1,30}", autocomplete: "username" })),
        h("button", { type: "submit" }, "Sign up"))));
  } else {
    app.append(h("section", { class: "panel" }, h("h1", {}, "Start a Space"), createForm()));
  }
  app.append(searchForm(), h("section", { id: "results", "aria-live": "polite" }));
  if (session) {
    const feed = await api("/v1/feed").catch(() => ({ data: { items: [] } }));
    app.append(h("h2", {}, "From people you follow"), spaceList(feed.data.items, "Nothing from people you follow yet."));
  }
  const listing = await api("/v1/spaces");
  app.append(h("h2", {}, "Live now"), spaceList(listing.data.items, "No Space is live right now."));
}

async function signUp(event) {
  event.preventDefault();
  try {
    const { data } = await api("/v1/accounts", { method: "POST", body: { handle: event.target.handle.value } });
    localStorage.setItem("spaces.session", JSON.stringify(data));
    location.reload();
  } catch (error) { say(error.message); }
}

function createForm() {
  return h("form", { class: "create", "aria-label": "Create a Space", onsubmit: async (event) => {
      event.preventDefault();
      const form = event.target;
      const body = { title: form.title.value, speaker_policy: form.policy.value,
        transcripts: form.transcripts.checked, recording: form.recording.checked };
      if (form.when.value) body.scheduled_for = new Date(form.when.value).toISOString();
      try {
        const { data } = await api("/v1/spaces", { method: "POST", body });
        location.href = data.link;
      } catch (error) { say(error.message); }
    } },
    h("label", { class: "wide" }, "Title", h("input", { name: "title", required: true, maxlength: 120, placeholder: "What will you talk about?" })),
    h("label", {}, "Who may ask to speak", h("select", { name: "policy" },
      h("option", { value: "everyone" }, "Everyone"), h("option", { value: "following" }, "People I follow"),
      h("option", { value: "invited" }, "Only people I invite"))),
    h("label", {}, "Start later", h("input", { type: "datetime-local", name: "when" })),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "transcripts" }), "Transcripts"),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "recording" }), "Recording"),
    h("button", { type: "submit" }, "Create"));
}

function searchForm() {
  return h("form", { role: "search", class: "search", onsubmit: async (event) => {
      event.preventDefault();
      const words = event.target.q.value.trim();
      const results = $("#results");
      if (!words) return results.replaceChildren();
      try {
        const { data } = await api(`/v1/spaces?q=${encodeURIComponent(words)}`);
        results.replaceChildren(h("h2", {}, `Spaces about “${words}”`),
          spaceList(data.items, "No live or upcoming Space has these words."));
      } catch (error) { say(error.message); }
    } },
    h("input", { type: "search", name: "q", "aria-label": "Search Spaces", placeholder: "Search Spaces by title or host", maxlength: 200 }),
    h("button", { type: "submit", class: "quiet" }, "Search"));
}

function spaceList(items, empty) {
  if (!items.length) return h("p", { class: "muted" }, empty);
  return h("ul", { class: "cards" }, items.map((space) => h("li", { class: "card" },
    avatar(space.host),
    h("div", {}, h("a", { href: space.link }, space.title),
      h("div", { class: "muted" }, `@${space.host.handle} · `, space.state === "live"
        ? h("span", { class: "live" }, `${space.listener_count} listening`)
        : space.scheduled_for ? `starts ${new Date(space.scheduled_for).toLocaleString()}` : "not live yet")))));
}
