// The HTTP contract in one place: the session (tokens in sessionStorage), one refresh on 401,
// and the API's error shape {"error": {"code", "message"}} turned into ApiError.

const SESSION_KEY = "reelstack.session";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Fires "change" when the user logs in or out (or the session expires). */
export const sessionEvents = new EventTarget();

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY)) || null;
  } catch {
    return null;
  }
}

function saveSession(value) {
  if (value) sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(SESSION_KEY);
  sessionEvents.dispatchEvent(new Event("change"));
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's error page, say): fall through to a message naming the status.
  }
  const error = body && body.error;
  if (error && error.message) return new ApiError(response.status, error.code, error.message, error.details);
  return new ApiError(response.status, "http_error", `The server answered ${response.status} ${response.statusText}.`);
}

async function send(path, { method = "GET", body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "network", "Could not reach the server. Check your connection and try again.");
  }
  return response;
}

async function parse(response) {
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

let refreshing = null;

/** Trade the refresh token for new tokens; concurrent 401s share one refresh. */
function refresh() {
  const current = session();
  if (!current || !current.refresh_token) return Promise.resolve(false);
  refreshing ??= (async () => {
    try {
      const response = await send("auth/refresh", {
        method: "POST",
        body: { refresh_token: current.refresh_token },
      });
      if (!response.ok) return false;
      const tokens = await response.json();
      saveSession({ ...current, ...tokens, refresh_token: tokens.refresh_token || current.refresh_token });
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** A call to /api with the access token; on 401 refreshes once and retries, else logs out. */
export async function api(path, { method = "GET", body } = {}) {
  const url = `api/${path}`;
  let response = await send(url, { method, body, token: session()?.access_token });
  if (response.status === 401 && session()) {
    if (await refresh()) {
      response = await send(url, { method, body, token: session()?.access_token });
    }
    if (response.status === 401) {
      saveSession(null);
      throw new ApiError(401, "session_expired", "Your session has ended. Log in again to continue.");
    }
  }
  return parse(response);
}

async function auth(action, body) {
  return parse(await send(`auth/${action}`, { method: "POST", body }));
}

export const accounts = {
  signup: (email, password) => auth("signup", { email, password }),
  confirm: (email, code) => auth("confirm", { email, code }),
  resend: (email) => auth("resend", { email }),
  forgot: (email) => auth("forgot", { email }),
  reset: (email, code, password) => auth("reset", { email, code, password }),
  async login(email, password) {
    const tokens = await auth("login", { email, password });
    saveSession({ email, ...tokens });
  },
  async logout() {
    const current = session();
    saveSession(null);
    if (current) {
      // Signing out everywhere is best effort: the local session is gone either way.
      await send("auth/logout", { method: "POST", token: current.access_token }).catch(() => null);
    }
  },
};

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : "";
}

const id = encodeURIComponent;

export const videos = {
  feed: ({ q, cursor } = {}) => api(`videos${query({ q, cursor })}`),
  trending: () => api("videos?order=trending"),
  tagged: (tag, { cursor } = {}) => api(`tags/${id(tag)}${query({ cursor })}`),
  mine: ({ cursor } = {}) => api(`me/videos${query({ cursor })}`),
  get: (videoId) => api(`videos/${id(videoId)}`),
  create: (fields) => api("videos", { method: "POST", body: fields }),
  update: (videoId, fields) => api(`videos/${id(videoId)}`, { method: "PATCH", body: fields }),
  remove: (videoId) => api(`videos/${id(videoId)}`, { method: "DELETE" }),
  markUploaded: (videoId) => api(`videos/${id(videoId)}/uploaded`, { method: "POST" }),
  retry: (videoId) => api(`videos/${id(videoId)}/retry`, { method: "POST" }),
  cost: (videoId) => api(`videos/${id(videoId)}/cost`),
  eventsTicket: (videoId) => api(`videos/${id(videoId)}/events-ticket`, { method: "POST" }),
  like: (videoId) => api(`videos/${id(videoId)}/like`, { method: "PUT" }),
  unlike: (videoId) => api(`videos/${id(videoId)}/like`, { method: "DELETE" }),
  recordView: (videoId) => api(`videos/${id(videoId)}/views`, { method: "POST" }),
  viewHistory: (videoId, days) => api(`videos/${id(videoId)}/views${query({ days })}`),
  poster: (videoId) => api(`videos/${id(videoId)}/poster`),
  choosePoster: (videoId, candidate) => api(`videos/${id(videoId)}/poster`, { method: "PUT", body: { candidate } }),
  uploadPoster: (videoId, image) => api(`videos/${id(videoId)}/poster`, { method: "POST", body: { image } }),
};

export const captions = {
  list: (videoId) => api(`videos/${id(videoId)}/captions`),
  put: (videoId, language, fields) =>
    api(`videos/${id(videoId)}/captions/${id(language)}`, { method: "PUT", body: fields }),
  remove: (videoId, language) => api(`videos/${id(videoId)}/captions/${id(language)}`, { method: "DELETE" }),
};

export const multipart = {
  start: (videoId, contentType) =>
    api(`videos/${id(videoId)}/multipart`, { method: "POST", body: { content_type: contentType } }),
  progress: (videoId) => api(`videos/${id(videoId)}/multipart`),
  partUrls: (videoId, partNumbers) =>
    api(`videos/${id(videoId)}/multipart/parts`, { method: "POST", body: { part_numbers: partNumbers } }),
  complete: (videoId, parts) => api(`videos/${id(videoId)}/multipart/complete`, { method: "POST", body: { parts } }),
  abort: (videoId) => api(`videos/${id(videoId)}/multipart`, { method: "DELETE" }),
};

export const comments = {
  list: (videoId, cursor) => api(`videos/${id(videoId)}/comments${query({ cursor })}`),
  add: (videoId, body) => api(`videos/${id(videoId)}/comments`, { method: "POST", body: { body } }),
  edit: (videoId, commentId, body) =>
    api(`videos/${id(videoId)}/comments/${id(commentId)}`, { method: "PATCH", body: { body } }),
  remove: (videoId, commentId) => api(`videos/${id(videoId)}/comments/${id(commentId)}`, { method: "DELETE" }),
};

export const playlists = {
  list: () => api("playlists"),
  get: (playlistId) => api(`playlists/${id(playlistId)}`),
  create: (title) => api("playlists", { method: "POST", body: { title } }),
  remove: (playlistId) => api(`playlists/${id(playlistId)}`, { method: "DELETE" }),
  addItem: (playlistId, videoId) =>
    api(`playlists/${id(playlistId)}/items`, { method: "POST", body: { video_id: videoId } }),
  removeItem: (playlistId, videoId) =>
    api(`playlists/${id(playlistId)}/items/${id(videoId)}`, { method: "DELETE" }),
  reorder: (playlistId, videoIds) =>
    api(`playlists/${id(playlistId)}/items`, { method: "PUT", body: { video_ids: videoIds } }),
};

/** Channels (a user's public videos and subscriber count) and the caller's subscriptions. */
export const channels = {
  get: (userId) => api(`channels/${id(userId)}`),
  videos: (userId, cursor) => api(`channels/${id(userId)}/videos${query({ cursor })}`),
  subscribe: (userId) => api(`channels/${id(userId)}/subscription`, { method: "PUT" }),
  unsubscribe: (userId) => api(`channels/${id(userId)}/subscription`, { method: "DELETE" }),
  mine: (cursor) => api(`me/subscriptions${query({ cursor })}`),
  feed: (cursor) => api(`me/subscriptions/videos${query({ cursor })}`),
};

let meCache = null;
sessionEvents.addEventListener("change", () => (meCache = null));

/** The signed-in user ({id, email, display_name, public_name}), fetched once per session; null when logged out. */
export function me() {
  if (!session()) return Promise.resolve(null);
  meCache ??= api("me").catch((error) => {
    meCache = null;
    throw error;
  });
  return meCache;
}

/** Change the signed-in user's profile ({display_name}); the cached user follows. */
export async function updateMe(fields) {
  const updated = await api("me", { method: "PATCH", body: fields });
  meCache = Promise.resolve(updated);
  return updated;
}

/** Reports (any signed-in user) and the moderators' work (docs/moderation.md). */
export const moderation = {
  report: (targetType, targetId, reason) =>
    api("reports", { method: "POST", body: { target_type: targetType, target_id: targetId, reason } }),
  queue: ({ status, cursor } = {}) => api(`moderation/reports${query({ status, cursor })}`),
  resolve: (reportId, reason) =>
    api(`moderation/reports/${id(reportId)}/resolve`, { method: "POST", body: { reason } }),
  hide: (targetType, targetId, reason) =>
    api(`moderation/${targetType}s/${id(targetId)}/hide`, { method: "POST", body: { reason } }),
  restore: (targetType, targetId, reason) =>
    api(`moderation/${targetType}s/${id(targetId)}/restore`, { method: "POST", body: { reason } }),
};
