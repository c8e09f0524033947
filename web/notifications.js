// The viewer's notifications: the bell in the header (its unread count kept live by the
// notification stream) and the page that lists them.
import { $, h, say } from "./dom.js";
import { api, follow } from "./transport.js";

const arrivals = new EventTarget();  // the page listens here for notifications as they arrive
let showUnread = () => {};

// `live`: kept up by the notification stream. A Space's page has the Space's stream open
// already, and browsers give a server six HTTP/1.1 connections in all, so a few tabs with
// two streams each would leave none for requests: there the count is read once a minute.
export function bell(header, live) {
  const count = h("span", { class: "badge count", hidden: true });
  const link = h("a", { id: "bell", href: "/notifications", "aria-label": "Notifications" }, "🔔", count);
  header.insertBefore(link, $("#me"));
  showUnread = (unread) => {
    count.hidden = !unread;
    count.textContent = unread;
    link.setAttribute("aria-label", unread ? `Notifications, ${unread} unread` : "Notifications");
  };
  if (!live) {
    const read = () => api("/v1/notifications?limit=1").then(({ data }) => showUnread(data.unread_count), () => {});
    read();
    setInterval(read, 60_000);
    return;
  }
  follow("/v1/notifications/stream", {
    unread: (data) => showUnread(data.count),
    notification: (item) => arrivals.dispatchEvent(new CustomEvent("notification", { detail: item })),
  });
}

export async function notificationsPage(app) {
  document.title = "Notifications";
  const list = h("ul", { id: "notifications", class: "cards", "aria-label": "Notifications" });
  const more = h("button", { class: "quiet", hidden: true }, "Show older");
  const markAll = h("button", { class: "quiet" }, "Mark all read");
  app.replaceChildren(h("div", { id: "notice", role: "status", "aria-live": "polite" }),
    h("div", { class: "row spread" }, h("h1", {}, "Notifications"), markAll), list, more);
  const shown = new Map();  // id -> element
  const add = (item, atTop) => {
    if (shown.has(item.id)) return;
    const element = card(item);
    shown.set(item.id, element);
    if (atTop) list.prepend(element); else list.append(element);
    $(".empty", app)?.remove();
  };
  arrivals.addEventListener("notification", (event) => add(event.detail, true));

  let cursor = null;
  const load = async () => {
    try {
      const { data } = await api(`/v1/notifications?limit=20${cursor ? `&cursor=${cursor}` : ""}`);
      data.items.forEach((item) => add(item, false));
      cursor = data.next_cursor;
      showUnread(data.unread_count);
      more.hidden = cursor === null;
      if (!shown.size) list.after(h("p", { class: "muted empty" }, "Nothing yet. Follow hosts or set reminders to hear when they go live."));
    } catch (error) { say(error.message); }
  };
  more.addEventListener("click", load);
  markAll.addEventListener("click", async () => {
    const newest = Math.max(0, ...shown.keys());
    try {
      await api("/v1/notifications/read", { method: "POST", body: { up_to: newest } });
      for (const [id, element] of shown) if (id <= newest) element.classList.remove("unread");
      showUnread(0);
    } catch (error) { say(error.message); }
  });
  await load();
}

function card(item) {
  const ended = item.space.state === "ended";
  return h("li", { class: `card notification${item.read ? "" : " unread"}`, "data-kind": item.kind },
    h("div", {},
      ended ? h("span", {}, item.text) : h("a", { href: `/s/${item.space.id}` }, item.text),
      h("div", { class: "muted" }, new Date(item.created_at).toLocaleString())));
}
