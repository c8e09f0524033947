// HTTP to the v1 API of the same server, and the Space's live stream (server-sent events).
export const session = JSON.parse(localStorage.getItem("spaces.session") || "null");

// The highest event store position this page wrote or was told of: view reads pass it as
// ?after= so a page never shows views older than what it just did or heard on the stream.
// Kept per tab across navigations; forgotten if the views cannot reach it (a reset server).
let reached = Number(sessionStorage.getItem("spaces.reached") || 0);
export function reach(position) {
  if (typeof position === "number" && position > reached) sessionStorage.setItem("spaces.reached", reached = position);
}

export async function api(path, options = {}) {
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

// Follows a stream (a Space's, or the viewer's notifications): `handlers` maps a message
// kind to a function of its data.
export function follow(path, handlers) {
  const query = session ? `?access_token=${encodeURIComponent(session.token)}` : "";
  const stream = new EventSource(`${path}${query}`);
  for (const [kind, handler] of Object.entries(handlers)) {
    stream.addEventListener(kind, (event) => {
      const data = event.data ? JSON.parse(event.data) : {};
      reach(data.position);
      handler(data);
    });
  }
  return stream;
}
