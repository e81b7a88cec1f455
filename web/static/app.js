// Hanashi web client: one page, one WebSocket, no framework.
//
// Protocol: docs/protocol.md. The invariants this file keeps:
//   - user data (names, room names, message bodies) only ever reaches the DOM
//     as text (textContent), never as markup;
//   - per room, the cursor is the highest seq received from the server's
//     message stream (history or WebSocket), and every (re)subscription asks
//     for `after = cursor`, so a reconnect loses nothing and doubles nothing;
//   - messages are kept in a Map per room keyed by seq, so a duplicate can
//     never be shown twice even if the server sent one;
//   - a send stays pending (and in memory) until its ack; after a reconnect
//     it is resent with the same client_id, which the server deduplicates.

const API = "api/v1/"; // relative, so the client works under a path prefix
const PAGE = 50; // history page size
const BACKOFF_MIN = 250; // ms
const BACKOFF_MAX = 5000; // ms
const ROOMS_POLL = 15000; // ms; rooms are not pushed over the socket (yet)

const $ = (id) => document.getElementById(id);

const ui = {
  status: $("status"),
  me: $("me"),
  meAvatar: $("me-avatar"),
  avatarLabel: $("avatar-label"),
  avatarInput: $("avatar-input"),
  signInLink: $("sign-in-link"),
  signOut: $("sign-out"),
  signOutAll: $("sign-out-all"),
  login: $("login"),
  nameForm: $("name-form"),
  nameInput: $("name-input"),
  loginError: $("login-error"),
  app: $("app"),
  rooms: $("rooms"),
  roomsRefresh: $("rooms-refresh"),
  roomForm: $("room-form"),
  roomName: $("room-name"),
  roomPrivate: $("room-private"),
  roomError: $("room-error"),
  empty: $("empty"),
  roomView: $("room-view"),
  roomTitle: $("room-title"),
  roomKind: $("room-kind"),
  join: $("join"),
  leave: $("leave"),
  scroller: $("scroller"),
  loadOlder: $("load-older"),
  messages: $("messages"),
  roomErrorLive: $("room-error-live"),
  composerForm: $("composer-form"),
  composer: $("composer"),
  send: $("send"),
};

// ---- state ---------------------------------------------------------------

const state = {
  me: null, // the signed-in user
  rooms: new Map(), // room id -> room as the API returns it
  open: new Map(), // room id -> RoomState, for every room opened this session
  current: null, // id of the room on screen
  pending: new Map(), // client_id -> {room, client_id, body, at}; insertion order = send order
  ws: null,
  live: false, // the socket is open
  attempt: 0, // reconnect attempts since the last successful open
  retryTimer: 0,
  roomsTimer: 0,
  generation: 0, // bumped on sign-out so stale callbacks do nothing
};

// Counters the browser test reads: a gap or a duplicate in the server's
// stream is a protocol violation even when the client hides it.
const debug = { gaps: 0, duplicates: 0, reconnects: 0, closeCodes: [] };
window.hanashiDebug = debug;

class RoomState {
  constructor(id) {
    this.id = id;
    this.msgs = new Map(); // seq -> message
    this.cursor = 0; // highest seq received from the server's stream
    this.oldest = 0; // lowest seq loaded (0: none)
    this.loaded = false; // the newest page has been fetched
    this.loading = false;
    this.loadingOlder = false;
    this.unread = 0;
  }
  hasOlder() {
    // Seqs start at 1 and have no gaps, so the first message is seq 1.
    return this.oldest > 1;
  }
}

// ---- HTTP ------------------------------------------------------------------

class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(API + path, init);
  } catch {
    throw new APIError(0, "unavailable", "cannot reach the server");
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    // a proxy's HTML error page, for instance
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new APIError(res.status, e.code || "internal", e.message || `request failed (${res.status})`);
  }
  return data;
}

// Wraps an action so an expired session sends the person back to the name
// picker, and any other failure is shown instead of thrown away.
function guarded(fn, errorEl) {
  return async (...args) => {
    if (errorEl) showError(errorEl, "");
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof APIError && err.status === 401) {
        signedOut("Your session has ended. Pick a name to continue.");
        return;
      }
      console.error(err);
      if (errorEl) showError(errorEl, err.message || String(err));
    }
  };
}

function showError(el, text) {
  el.textContent = text;
  el.hidden = !text;
}

// ---- sign-in -------------------------------------------------------------

async function start() {
  try {
    const data = await api("GET", "me");
    signedIn(data.user);
  } catch (err) {
    if (err instanceof APIError && err.status === 401) {
      signedOut("");
      return;
    }
    // The server is unreachable: keep trying, the same way the socket does.
    setStatus("reconnecting", "reconnecting…");
    setTimeout(start, backoffDelay(state.attempt++));
  }
}

ui.nameForm.addEventListener(
  "submit",
  guarded(async (ev) => {
    ev.preventDefault();
    const name = ui.nameInput.value.trim();
    if (!name) return;
    const data = await api("POST", "guests", { name });
    ui.nameInput.value = "";
    signedIn(data.user);
  }, ui.loginError),
);

ui.signOut.addEventListener(
  "click",
  guarded(async () => {
    await api("DELETE", "session");
    signedOut("");
  }),
);

ui.signOutAll.addEventListener(
  "click",
  guarded(async () => {
    await api("DELETE", "sessions");
    signedOut("Signed out everywhere.");
  }),
);

// An uploaded picture replaces the avatar; messages show it from then on.
ui.avatarInput.addEventListener(
  "change",
  guarded(async () => {
    const file = ui.avatarInput.files[0];
    ui.avatarInput.value = "";
    if (!file) return;
    let res;
    try {
      res = await fetch(API + "me/avatar", { method: "POST", credentials: "same-origin", body: file });
    } catch {
      throw new APIError(0, "unavailable", "cannot reach the server");
    }
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      const e = (data && data.error) || {};
      throw new APIError(res.status, e.code || "internal", e.message || `upload failed (${res.status})`);
    }
    state.me.avatar_url = data.avatar_url;
    showMe();
  }, $("room-error-live")),
);

// The sign-in page comes back here afterwards.
for (const a of [ui.signInLink, $("login-link")]) {
  a.href = "login?next=" + encodeURIComponent(location.pathname + location.hash);
}

function showMe() {
  const user = state.me;
  ui.me.textContent = user.name;
  ui.me.hidden = false;
  ui.meAvatar.src = user.avatar_url || "";
  ui.avatarLabel.hidden = user.guest;
  ui.signInLink.hidden = !user.guest;
  ui.signOutAll.hidden = user.guest;
}

function signedIn(user) {
  state.generation++;
  state.me = user;
  state.attempt = 0;
  showMe();
  ui.signOut.hidden = false;
  ui.login.hidden = true;
  ui.app.hidden = false;
  connect();
  refreshRooms().then(() => {
    const id = roomFromHash();
    if (id && state.rooms.has(id) && state.current === null) selectRoom(id);
  });
  clearInterval(state.roomsTimer);
  state.roomsTimer = setInterval(() => refreshRooms(), ROOMS_POLL);
}

function signedOut(notice) {
  state.generation++;
  disconnect();
  clearInterval(state.roomsTimer);
  state.me = null;
  state.rooms.clear();
  state.open.clear();
  state.pending.clear();
  state.current = null;
  ui.rooms.replaceChildren();
  ui.messages.replaceChildren();
  ui.roomView.hidden = true;
  ui.empty.hidden = false;
  ui.me.hidden = true;
  ui.signOut.hidden = true;
  ui.signOutAll.hidden = true;
  ui.avatarLabel.hidden = true;
  ui.signInLink.hidden = true;
  ui.app.hidden = true;
  ui.login.hidden = false;
  showError(ui.loginError, notice);
  setStatus("offline", "signed out");
  ui.nameInput.focus();
}

// ---- rooms ---------------------------------------------------------------

async function refreshRooms() {
  const gen = state.generation;
  let data;
  try {
    data = await api("GET", "rooms");
  } catch (err) {
    if (err instanceof APIError && err.status === 401) signedOut("Your session has ended. Pick a name to continue.");
    return; // a network failure: the socket shows the state, the poll retries
  }
  if (gen !== state.generation) return;
  state.rooms = new Map(data.rooms.map((r) => [r.id, r]));
  // A room we had open that we can no longer see (left a private room,
  // removed): forget it.
  for (const id of state.open.keys()) {
    if (!state.rooms.has(id)) closeRoom(id);
  }
  renderRooms();
  if (state.current !== null) renderRoomHead();
}

function renderRooms() {
  const items = [...state.rooms.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);
  ui.rooms.replaceChildren(
    ...items.map((room) => {
      const li = document.createElement("li");
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "room";
      btn.dataset.roomId = String(room.id);
      if (room.id === state.current) btn.classList.add("active");
      if (!room.member) btn.classList.add("not-member");
      btn.setAttribute("aria-current", room.id === state.current ? "true" : "false");

      const name = document.createElement("span");
      name.className = "room-name";
      name.textContent = room.name;
      btn.append(roomMark(room), name);

      const rs = state.open.get(room.id);
      if (rs && rs.unread > 0 && room.id !== state.current) {
        const badge = document.createElement("span");
        badge.className = "unread";
        badge.textContent = rs.unread > 99 ? "99+" : String(rs.unread);
        btn.append(badge);
      }
      btn.addEventListener("click", () => selectRoom(room.id));
      li.append(btn);
      return li;
    }),
  );
}

const SVG = "http://www.w3.org/2000/svg";

// roomMark is "#" for a public room and a padlock for a private one (drawn,
// so it needs no emoji font).
function roomMark(room) {
  const mark = document.createElement("span");
  mark.className = "room-mark";
  mark.setAttribute("aria-label", room.private ? "private" : "public");
  if (!room.private) {
    mark.textContent = "#";
    return mark;
  }
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  const shackle = document.createElementNS(SVG, "path");
  shackle.setAttribute("d", "M5 7V5a3 3 0 0 1 6 0v2");
  shackle.setAttribute("class", "shackle");
  const body = document.createElementNS(SVG, "rect");
  for (const [k, v] of Object.entries({ x: 3, y: 7, width: 10, height: 7, rx: 1.5 })) body.setAttribute(k, v);
  svg.append(shackle, body);
  mark.append(svg);
  return mark;
}

ui.roomsRefresh.addEventListener("click", () => refreshRooms());

ui.roomForm.addEventListener(
  "submit",
  guarded(async (ev) => {
    ev.preventDefault();
    const name = ui.roomName.value.trim();
    if (!name) return;
    const data = await api("POST", "rooms", { name, private: ui.roomPrivate.checked });
    ui.roomName.value = "";
    ui.roomPrivate.checked = false;
    state.rooms.set(data.room.id, data.room);
    renderRooms();
    await selectRoom(data.room.id);
  }, ui.roomError),
);

ui.join.addEventListener(
  "click",
  guarded(async () => {
    const id = state.current;
    const data = await api("POST", `rooms/${id}/members`);
    state.rooms.set(id, data.room);
    renderRooms();
    renderRoomHead();
    ui.composer.focus();
  }, ui.roomErrorLive),
);

ui.leave.addEventListener(
  "click",
  guarded(async () => {
    const id = state.current;
    await api("DELETE", `rooms/${id}/members/me`);
    closeRoom(id);
    await refreshRooms();
  }, ui.roomErrorLive),
);

async function selectRoom(id) {
  if (!state.rooms.has(id)) return;
  state.current = id;
  history.replaceState(null, "", `#room=${id}`);
  showError(ui.roomErrorLive, "");
  let rs = state.open.get(id);
  if (!rs) {
    rs = new RoomState(id);
    state.open.set(id, rs);
  }
  rs.unread = 0;
  renderRooms();
  renderRoomHead();
  renderMessages();
  ui.empty.hidden = true;
  ui.roomView.hidden = false;
  if (!rs.loaded) await loadNewest(rs);
  scrollToBottom();
}

function closeRoom(id) {
  if (!state.open.has(id)) return;
  state.open.delete(id);
  if (state.live) wsSend({ type: "unsubscribe", room: id });
  for (const [cid, p] of state.pending) if (p.room === id) state.pending.delete(cid);
  if (state.current === id) {
    state.current = null;
    history.replaceState(null, "", location.pathname + location.search);
    ui.roomView.hidden = true;
    ui.empty.hidden = false;
    ui.messages.replaceChildren();
  }
}

function roomFromHash() {
  const m = /^#room=(\d+)$/.exec(location.hash);
  return m ? Number(m[1]) : null;
}

function renderRoomHead() {
  const room = state.rooms.get(state.current);
  if (!room) return;
  ui.roomTitle.textContent = room.name;
  ui.roomKind.textContent = room.private ? "private" : "public";
  ui.join.hidden = room.member;
  ui.leave.hidden = !room.member;
  ui.composer.disabled = !room.member;
  ui.send.disabled = !room.member;
  ui.composer.placeholder = room.member
    ? "Write a message — Enter to send, Shift+Enter for a new line"
    : "Join the room to write here";
}

// ---- history ---------------------------------------------------------------

// Loads the newest page, then subscribes from its last seq: the server sends
// whatever was posted in between as backlog, so there is no gap.
async function loadNewest(rs) {
  if (rs.loading) return;
  rs.loading = true;
  const gen = state.generation;
  let data;
  try {
    data = await api("GET", `rooms/${rs.id}/messages?limit=${PAGE}`);
  } catch (err) {
    rs.loading = false;
    if (err instanceof APIError && err.status === 401) signedOut("Your session has ended. Pick a name to continue.");
    else if (state.current === rs.id) showError(ui.roomErrorLive, err.message);
    return;
  }
  if (gen !== state.generation || state.open.get(rs.id) !== rs) return;
  for (const m of data.messages) addMessage(m, { fromHistory: true });
  rs.loaded = true;
  rs.loading = false;
  if (rs.oldest === 0 && data.messages.length > 0) rs.oldest = data.messages[0].seq;
  updateLoadOlder();
  if (state.live) subscribe(rs);
}

async function loadOlder() {
  const rs = state.open.get(state.current);
  if (!rs || !rs.loaded || rs.loadingOlder || !rs.hasOlder()) return;
  rs.loadingOlder = true;
  try {
    const data = await api("GET", `rooms/${rs.id}/messages?before=${rs.oldest}&limit=${PAGE}`);
    if (state.open.get(rs.id) !== rs) return;
    const before = ui.scroller.scrollHeight;
    const top = ui.scroller.scrollTop;
    for (const m of data.messages) addMessage(m, { fromHistory: true });
    rs.oldest = data.messages.length > 0 ? Math.min(rs.oldest, data.messages[0].seq) : 1;
    if (state.current === rs.id) {
      // Keep the message the reader was looking at where it was.
      ui.scroller.scrollTop = top + (ui.scroller.scrollHeight - before);
    }
  } catch (err) {
    if (err instanceof APIError && err.status === 401) signedOut("Your session has ended. Pick a name to continue.");
    else showError(ui.roomErrorLive, err.message);
  } finally {
    rs.loadingOlder = false;
    updateLoadOlder();
  }
}

function updateLoadOlder() {
  const rs = state.open.get(state.current);
  ui.loadOlder.hidden = !(rs && rs.loaded && rs.hasOlder());
}

ui.loadOlder.addEventListener("click", loadOlder);
ui.scroller.addEventListener("scroll", () => {
  if (ui.scroller.scrollTop < 40) loadOlder();
});

// ---- messages --------------------------------------------------------------

// addMessage records a message from the server and shows it when its room is
// on screen. fromHistory: it came from the HTTP API; ack: it is our own message,
// known from its ack before the stream delivered it.
function addMessage(m, { fromHistory = false, ack = false } = {}) {
  const rs = state.open.get(m.room);
  if (!rs) return;
  // The stream of a room starts with the subscription that follows its first
  // page; anything earlier belongs to an old subscription.
  if (!fromHistory && !ack && !rs.loaded) return;
  if (!ack && m.client_id && state.me && m.author.id === state.me.id) {
    // Our own send, delivered before (or instead of, after a reconnect) its
    // ack: it is no longer pending.
    settlePending(m.client_id);
  }
  const have = rs.msgs.get(m.seq);
  if (have && !have.provisional) {
    if (!ack && !fromHistory) debug.duplicates++;
    return;
  }
  if (ack) {
    if (have) return;
    m.provisional = true; // the stream will bring the real one (time, id)
  } else if (!fromHistory) {
    // From the stream: it must follow the cursor without a gap.
    if (rs.loaded && m.seq > rs.cursor + 1) {
      debug.gaps++;
      console.warn(`room ${m.room}: gap in the stream, ${rs.cursor} -> ${m.seq}`);
      fillGap(rs, rs.cursor);
    }
  }
  if (!ack) rs.cursor = Math.max(rs.cursor, m.seq);
  if (fromHistory && (rs.oldest === 0 || m.seq < rs.oldest)) rs.oldest = m.seq;
  rs.msgs.set(m.seq, m);

  if (!ack && !fromHistory && m.room !== state.current && m.author.id !== state.me?.id) {
    rs.unread++;
    renderRooms();
  }
  if (m.room === state.current) {
    const stick = nearBottom() || (state.me && m.author.id === state.me.id);
    placeMessage(messageElement(m), m.seq);
    if (stick) scrollToBottom();
  }
}

// The protocol promises no gaps; if one shows up anyway, fetch what is missing
// rather than show a hole (and count it, see debug).
async function fillGap(rs, after) {
  try {
    const data = await api("GET", `rooms/${rs.id}/messages?after=${after}&limit=1000`);
    for (const m of data.messages) addMessage(m, { fromHistory: true });
  } catch (err) {
    console.error(err);
  }
}

function messageElement(m) {
  const li = document.createElement("li");
  li.className = "message";
  li.dataset.seq = String(m.seq);
  if (m.id) li.dataset.id = m.id;
  if (state.me && m.author.id === state.me.id) li.classList.add("mine");
  li.append(avatar(m.author));

  const main = document.createElement("div");
  main.className = "content";
  const meta = document.createElement("div");
  meta.className = "meta";
  const author = document.createElement("span");
  author.className = "author";
  author.textContent = m.author.name;
  const time = document.createElement("time");
  time.className = "time";
  const at = m.created_at ? new Date(m.created_at) : new Date();
  time.dateTime = at.toISOString();
  time.title = at.toLocaleString();
  time.textContent = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  meta.append(author, time);
  const body = document.createElement("div");
  body.className = "body";
  body.textContent = m.body;
  main.append(meta, body);
  li.append(main);
  return li;
}

function pendingElement(p) {
  const li = messageElement({
    room: p.room,
    seq: 0,
    author: { id: state.me.id, name: state.me.name, avatar_url: state.me.avatar_url },
    body: p.body,
    created_at: p.at,
  });
  delete li.dataset.seq;
  li.classList.add("pending");
  li.dataset.clientId = p.client_id;
  if (p.error) {
    li.classList.add("failed");
    const err = document.createElement("div");
    err.className = "send-error";
    err.textContent = `Not sent: ${p.error}`;
    li.querySelector(".content").append(err);
  }
  return li;
}

// avatar shows the author's picture, or their initial on a colour of their
// name when they have none.
function avatar(author) {
  const name = author.name;
  if (author.avatar_url) {
    const img = document.createElement("img");
    img.className = "avatar";
    img.alt = "";
    // Gravatar answers 404 for an address it does not know: initials then.
    img.addEventListener("error", () => img.replaceWith(avatar({ name })), { once: true });
    img.src = author.avatar_url;
    return img;
  }
  const a = document.createElement("span");
  a.className = "avatar";
  a.setAttribute("aria-hidden", "true");
  const initials = [...(name || "?").trim()].slice(0, 1).join("").toUpperCase();
  a.textContent = initials || "?";
  let h = 0;
  for (const ch of name || "") h = (h * 31 + ch.codePointAt(0)) >>> 0;
  a.style.setProperty("--hue", String(h % 360));
  return a;
}

// placeMessage puts a confirmed message in seq order, replacing an element
// with the same seq, and keeping pending sends at the end.
function placeMessage(el, seq) {
  const list = ui.messages;
  let node = list.lastElementChild;
  while (node) {
    if (!node.classList.contains("pending")) {
      const s = Number(node.dataset.seq);
      if (s === seq) {
        node.replaceWith(el);
        return;
      }
      if (s < seq) break;
    }
    node = node.previousElementSibling;
  }
  // After the last confirmed message with a lower seq, hence before any
  // pending send.
  if (node) node.after(el);
  else list.prepend(el);
}

function renderMessages() {
  const rs = state.open.get(state.current);
  const items = [];
  if (rs) {
    const seqs = [...rs.msgs.keys()].sort((a, b) => a - b);
    for (const s of seqs) items.push(messageElement(rs.msgs.get(s)));
    for (const p of state.pending.values()) if (p.room === rs.id) items.push(pendingElement(p));
  }
  ui.messages.replaceChildren(...items);
  updateLoadOlder();
}

function nearBottom() {
  const s = ui.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function scrollToBottom() {
  ui.scroller.scrollTop = ui.scroller.scrollHeight;
}

// ---- sending ---------------------------------------------------------------

// A client id is unique per sender: this tab's random prefix, then the time
// and a counter. Time-ordered ids keep the server's index on (author,
// client_id) appending rather than writing all over the place.
const clientPrefix = [...crypto.getRandomValues(new Uint8Array(6))]
  .map((x) => x.toString(16).padStart(2, "0"))
  .join("");
let clientCounter = 0;

function newClientID() {
  clientCounter += 1;
  return `${Date.now().toString(36).padStart(9, "0")}-${clientPrefix}-${clientCounter}`;
}

ui.composerForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const body = ui.composer.value;
  const room = state.current;
  if (room === null || body.trim() === "") return;
  const p = { room, client_id: newClientID(), body, at: new Date().toISOString() };
  state.pending.set(p.client_id, p);
  ui.composer.value = "";
  autosize();
  ui.messages.append(pendingElement(p));
  scrollToBottom();
  if (state.live) wsSend({ type: "send", room, client_id: p.client_id, body });
  // Otherwise it goes out, in order, as soon as the socket is back.
});

ui.composer.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    ui.composerForm.requestSubmit();
  }
});

function autosize() {
  ui.composer.style.height = "auto";
  ui.composer.style.height = `${Math.min(ui.composer.scrollHeight, 200)}px`;
}
ui.composer.addEventListener("input", autosize);

function settlePending(clientID) {
  const p = state.pending.get(clientID);
  if (!p) return null;
  state.pending.delete(clientID);
  const el = ui.messages.querySelector(`.pending[data-client-id="${CSS.escape(clientID)}"]`);
  if (el) el.remove();
  return p;
}

function onAck(f) {
  const p = settlePending(f.client_id);
  if (!p) return; // already settled by the message itself, or a resend's ack
  addMessage(
    {
      room: f.room,
      seq: f.seq,
      id: f.id,
      client_id: f.client_id,
      author: { id: state.me.id, name: state.me.name, avatar_url: state.me.avatar_url || "" },
      body: p.body,
      created_at: p.at,
    },
    { ack: true },
  );
}

function onSendError(f) {
  const p = state.pending.get(f.client_id);
  if (!p) return;
  // Refused for good (invalid, too large, not allowed): stop resending it.
  state.pending.delete(f.client_id);
  p.error = f.message || f.code;
  const el = ui.messages.querySelector(`.pending[data-client-id="${CSS.escape(f.client_id)}"]`);
  if (el) el.replaceWith(pendingElement(p));
}

// ---- WebSocket -------------------------------------------------------------

function wsURL() {
  const u = new URL(API + "ws", location.href);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.href;
}

function connect() {
  clearTimeout(state.retryTimer);
  if (state.ws) return;
  const gen = state.generation;
  let opened = false;
  let stableTimer = 0;
  const ws = new WebSocket(wsURL());
  state.ws = ws;
  if (state.attempt === 0) setStatus("connecting", "connecting…");

  ws.onopen = () => {
    if (gen !== state.generation) return ws.close(1000);
    opened = true;
    state.live = true;
    // Reset the backoff only once the connection has proved stable, so a
    // server that accepts and closes at once is not hammered.
    stableTimer = setTimeout(() => (state.attempt = 0), 5000);
    setStatus("connected", "connected");
    // Resume every open room from its cursor, then resend what is unacked.
    for (const rs of state.open.values()) {
      if (rs.loaded) subscribe(rs);
      else loadNewest(rs); // it subscribes when the page is in
    }
    for (const p of state.pending.values()) {
      wsSend({ type: "send", room: p.room, client_id: p.client_id, body: p.body });
    }
    refreshRooms();
  };

  ws.onmessage = (ev) => {
    if (gen !== state.generation) return;
    let f;
    try {
      f = JSON.parse(ev.data);
    } catch {
      console.error("bad frame", ev.data);
      return;
    }
    switch (f.type) {
      case "message":
        addMessage(f);
        break;
      case "ack":
        onAck(f);
        break;
      case "subscribed": {
        // Everything up to f.seq has been delivered.
        const rs = state.open.get(f.room);
        if (rs && f.seq > rs.cursor) {
          // Only possible if the server broke its promise; fetch the rest.
          debug.gaps++;
          fillGap(rs, rs.cursor);
        }
        break;
      }
      case "unsubscribed":
        break;
      case "error":
        if (f.client_id) onSendError(f);
        else if (f.room !== undefined && f.room === state.current) showError(ui.roomErrorLive, f.message);
        else console.warn("server error frame", f);
        break;
      default:
        // Newer server, older client: ignore what we do not know.
        break;
    }
  };

  ws.onerror = () => {
    // onclose follows and does the work.
  };

  ws.onclose = (ev) => {
    clearTimeout(stableTimer);
    if (state.ws === ws) {
      state.ws = null;
      state.live = false;
    }
    if (gen !== state.generation) return;
    if (opened) debug.closeCodes.push(ev.code);
    if (ev.code === 4001) {
      signedOut("Your session has ended. Pick a name to continue.");
      return;
    }
    debug.reconnects++;
    setStatus("reconnecting", "reconnecting…");
    if (!opened) {
      // The upgrade was refused or the server is down. A browser cannot see
      // the HTTP status of a failed upgrade, so ask whether we are still
      // signed in before trying again.
      api("GET", "me").then(
        () => scheduleReconnect(gen),
        (err) => {
          if (gen !== state.generation) return;
          if (err instanceof APIError && err.status === 401) {
            signedOut("Your session has ended. Pick a name to continue.");
          } else {
            scheduleReconnect(gen);
          }
        },
      );
      return;
    }
    // 1008 (policy) must not be retried blindly: wait the longest delay.
    if (ev.code === 1008) state.attempt = Math.max(state.attempt, 16);
    scheduleReconnect(gen);
  };
}

function scheduleReconnect(gen) {
  if (gen !== state.generation || state.ws) return;
  clearTimeout(state.retryTimer);
  state.retryTimer = setTimeout(() => {
    if (gen === state.generation) connect();
  }, backoffDelay(state.attempt++));
}

// Exponential backoff with jitter: the delay doubles from BACKOFF_MIN up to
// BACKOFF_MAX, and each wait is a random point in its upper half so a
// restarted server is not hit by every client at the same instant.
function backoffDelay(attempt) {
  const ceiling = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** Math.min(attempt, 16));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function disconnect() {
  clearTimeout(state.retryTimer);
  const ws = state.ws;
  state.ws = null;
  state.live = false;
  if (ws) ws.close(1000);
}

function wsSend(frame) {
  if (state.ws && state.live && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify(frame));
  }
}

function subscribe(rs) {
  wsSend({ type: "subscribe", room: rs.id, after: rs.cursor });
}

function setStatus(kind, text) {
  ui.status.dataset.state = kind;
  ui.status.textContent = text;
}

// Back online after sleep or a network change: try now rather than wait.
window.addEventListener("online", () => {
  if (state.me && !state.ws) {
    state.attempt = 0;
    connect();
  }
});

start();
