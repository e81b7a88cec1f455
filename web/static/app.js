// Hanashi web client: one page, one WebSocket, no framework.
//
// Protocol: docs/protocol.md. The invariants this file keeps:
//   - user data (names, room names, message bodies) only ever reaches the DOM
//     as text (textContent, or nodes built by markdown.js), never as markup;
//   - per room, the cursor is the highest seq received from the server's
//     stream, and every (re)subscription asks for `after = cursor`, so a
//     reconnect loses nothing and doubles nothing;
//   - every room the user is a member of is subscribed (a "feed"), so unread
//     and mention counts follow live; an opened room also has a RoomState,
//     the folded history that stream events are applied to;
//   - a send stays pending (and in memory) until its ack; after a reconnect
//     it is resent with the same client_id, which the server deduplicates.

import { renderBody } from "./markdown.js";

const API = "api/v1/"; // relative, so the client works under a path prefix
const PAGE = 50; // history page size
const BACKOFF_MIN = 250; // ms
const BACKOFF_MAX = 5000; // ms
const ROOMS_POLL = 15000; // ms; rooms are not pushed over the socket (yet)
const TYPING_EVERY = 3000; // ms between two typing frames while typing
const TYPING_SHOW = 6000; // ms a typing notice stays up
const IDLE_AFTER = 5 * 60 * 1000; // ms without input before "away"
const EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "👀"]; // the reaction picker

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
  directs: $("directs"),
  dmForm: $("dm-form"),
  dmSearch: $("dm-search"),
  dmResults: $("dm-results"),
  dmError: $("dm-error"),
  roomsRefresh: $("rooms-refresh"),
  roomForm: $("room-form"),
  roomName: $("room-name"),
  roomPrivate: $("room-private"),
  roomError: $("room-error"),
  empty: $("empty"),
  roomView: $("room-view"),
  roomTitle: $("room-title"),
  roomKind: $("room-kind"),
  newChild: $("new-child"),
  membersToggle: $("members-toggle"),
  join: $("join"),
  leave: $("leave"),
  childForm: $("child-form"),
  childName: $("child-name"),
  childPrivate: $("child-private"),
  childCancel: $("child-cancel"),
  scroller: $("scroller"),
  loadOlder: $("load-older"),
  messages: $("messages"),
  typing: $("typing"),
  roomErrorLive: $("room-error-live"),
  composerForm: $("composer-form"),
  composer: $("composer"),
  send: $("send"),
  membersPanel: $("members-panel"),
  members: $("members"),
  thread: $("thread"),
  threadFollow: $("thread-follow"),
  threadClose: $("thread-close"),
  threadScroller: $("thread-scroller"),
  threadRoot: $("thread-root"),
  threadOlder: $("thread-older"),
  threadMessages: $("thread-messages"),
  threadError: $("thread-error"),
  threadForm: $("thread-form"),
  threadComposer: $("thread-composer"),
};

// ---- state ---------------------------------------------------------------

const state = {
  me: null, // the signed-in user
  rooms: new Map(), // room id -> room as the API returns it
  feeds: new Map(), // room id -> Feed, for every room this page is subscribed to
  open: new Map(), // room id -> RoomState, for every room opened this session
  current: null, // id of the room on screen
  thread: null, // ThreadState of the thread panel, or null
  pending: new Map(), // client_id -> {room, client_id, body, thread, at}; insertion order = send order
  threadUnread: new Map(), // "room:root" -> unread replies of a followed thread
  following: new Map(), // "room:root" -> true/false where this page knows it
  members: new Map(), // room id -> [author], in the server's order
  names: new Map(), // user id -> name, from members and authors
  presence: new Map(), // user id -> "online" | "away" (absent: offline)
  typing: new Map(), // room id -> Map(user id -> {name, until})
  ws: null,
  live: false, // the socket is open
  attempt: 0, // reconnect attempts since the last successful open
  retryTimer: 0,
  roomsTimer: 0,
  away: false, // what we last told the server
  parked: false, // the page is in the back/forward cache: no socket
  idleTimer: 0,
  lastTyping: new Map(), // room id -> when its last typing frame went out
  generation: 0, // bumped on sign-out so stale callbacks do nothing
};

// Counters the browser test reads: a gap or a duplicate in the server's
// stream is a protocol violation even when the client hides it.
const debug = { gaps: 0, duplicates: 0, reconnects: 0, closeCodes: [] };
window.hanashiDebug = debug;

// Feed is a room this page receives: its stream cursor and the unread
// counts the room list shows.
class Feed {
  constructor(id, cursor) {
    this.id = id;
    this.cursor = cursor; // highest seq received (the resume cursor)
    this.counted = cursor; // highest seq the counts below include
    this.lastRead = cursor;
    this.unread = 0;
    this.mentions = 0;
    this.socket = null; // the WebSocket it is subscribed on
  }
}

// RoomState is an opened room: its top-level messages with every change
// folded in, from /history and then from the stream.
class RoomState {
  constructor(id) {
    this.id = id;
    this.msgs = new Map(); // seq -> top-level message (or room link)
    this.byId = new Map(); // id -> the same messages
    this.base = 0; // events up to this seq are in the history that was loaded
    this.oldest = 0; // lowest seq loaded (0: none)
    this.more = false; // older pages exist
    this.loaded = false; // the newest page has been fetched
    this.loading = false;
    this.loadingOlder = false;
    this.buffer = []; // stream events that came while loading
  }
}

// ThreadState is the thread in the panel: the root and a page of replies.
class ThreadState {
  constructor(room, root) {
    this.room = room;
    this.rootId = root;
    this.root = null;
    this.replies = new Map(); // seq -> reply
    this.byId = new Map();
    this.base = 0;
    this.oldest = 0;
    this.more = false;
    this.loaded = false;
  }
}

const threadKey = (room, root) => `${room}:${root}`;

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
    const el = typeof errorEl === "function" ? errorEl() : errorEl;
    if (el) showError(el, "");
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof APIError && err.status === 401) {
        signedOut("Your session has ended. Pick a name to continue.");
        return;
      }
      console.error(err);
      if (el) showError(el, err.message || String(err));
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

// The sign-in page comes back here afterwards. next is a path under the
// server's base URL, which may have a path prefix; the client is always at
// the base, so only the hash says where it was.
for (const a of [ui.signInLink, $("login-link")]) {
  a.href = "login?next=" + encodeURIComponent("/" + location.hash);
}

function showMe() {
  const user = state.me;
  ui.me.textContent = user.name;
  ui.me.hidden = false;
  ui.meAvatar.src = user.avatar_url || "";
  ui.avatarLabel.hidden = user.guest;
  ui.signInLink.hidden = !user.guest;
  ui.signOutAll.hidden = user.guest;
  // Guests cannot be found by name, and so cannot be asked either.
  ui.dmForm.hidden = user.guest;
}

function signedIn(user) {
  state.generation++;
  state.me = user;
  state.attempt = 0;
  state.names.set(user.id, user.name);
  showMe();
  ui.signOut.hidden = false;
  ui.login.hidden = true;
  ui.app.hidden = false;
  connect();
  syncFeeds().then(() => {
    const id = roomFromHash();
    if (id && state.rooms.has(id) && state.current === null) selectRoom(id);
  });
  clearInterval(state.roomsTimer);
  state.roomsTimer = setInterval(() => syncFeeds(), ROOMS_POLL);
  active();
}

function signedOut(notice) {
  state.generation++;
  disconnect();
  clearInterval(state.roomsTimer);
  clearTimeout(state.idleTimer);
  state.me = null;
  state.rooms.clear();
  state.feeds.clear();
  state.open.clear();
  state.pending.clear();
  state.threadUnread.clear();
  state.following.clear();
  state.members.clear();
  state.presence.clear();
  state.typing.clear();
  state.current = null;
  state.thread = null;
  state.away = false;
  ui.rooms.replaceChildren();
  ui.directs.replaceChildren();
  roomItems.clear();
  ui.messages.replaceChildren();
  ui.thread.hidden = true;
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
    return false; // a network failure: the socket shows the state, the poll retries
  }
  if (gen !== state.generation) return false;
  state.rooms = new Map(data.rooms.map((r) => [r.id, r]));
  // A room we had open that we can no longer see (left a private room,
  // removed): forget it.
  for (const id of state.open.keys()) {
    if (!state.rooms.has(id)) closeRoom(id);
  }
  renderRooms();
  if (state.current !== null) renderRoomHead();
  return true;
}

// refreshUnread takes the server's unread counts. A count is only taken
// when it is at least as recent as what the stream already told us.
async function refreshUnread() {
  const gen = state.generation;
  let data;
  try {
    data = await api("GET", "unread");
  } catch {
    return; // the next poll or reconnect tries again
  }
  if (gen !== state.generation) return;
  for (const u of data.rooms) {
    const room = state.rooms.get(u.room);
    if (!room || !room.member) continue;
    const feed = ensureFeed(u.room, u.last_seq, u.last_read);
    if (u.last_seq >= feed.counted && u.last_read >= feed.lastRead) {
      feed.counted = u.last_seq;
      feed.unread = u.unread;
      feed.mentions = u.mentions;
      feed.lastRead = u.last_read;
    } else if (feed.lastRead >= u.last_seq) {
      // We marked it read after the server counted: nothing is unread.
      feed.unread = 0;
      feed.mentions = 0;
    }
  }
  state.threadUnread = new Map();
  for (const t of data.threads) {
    const k = threadKey(t.room, t.root);
    state.threadUnread.set(k, t.unread);
    state.following.set(k, true);
  }
  renderRooms();
  rerenderThreadSummaries();
  markRead();
}

let unreadSoon = 0;
function refreshUnreadSoon() {
  clearTimeout(unreadSoon);
  unreadSoon = setTimeout(refreshUnread, 300);
}

// syncFeeds brings the room list and the subscriptions up to date: every
// room we are a member of, and every opened room, is received.
async function syncFeeds() {
  const gen = state.generation;
  if (!(await refreshRooms())) return;
  await refreshUnread();
  if (gen !== state.generation) return;
  for (const room of state.rooms.values()) {
    if (room.member) ensureFeed(room.id, room.last_seq);
  }
  for (const [id, feed] of state.feeds) {
    const room = state.rooms.get(id);
    if (!room || (!room.member && !state.open.has(id))) {
      if (state.live && feed.socket === state.ws) wsSend({ type: "unsubscribe", room: id });
      state.feeds.delete(id);
    }
  }
  subscribeFeeds();
  renderRooms();
}

// ensureFeed returns the room's feed, making it with cursor (and the read
// marker lastRead, by default the cursor: nothing before it is unread).
function ensureFeed(id, cursor, lastRead = cursor) {
  let feed = state.feeds.get(id);
  if (!feed) {
    feed = new Feed(id, cursor);
    feed.lastRead = lastRead;
    state.feeds.set(id, feed);
  }
  return feed;
}

// subscribeFeeds subscribes every feed that is not yet subscribed on the
// current socket, from its cursor.
function subscribeFeeds() {
  if (!state.live) return;
  for (const feed of state.feeds.values()) {
    if (feed.socket === state.ws) continue;
    feed.socket = state.ws;
    wsSend({ type: "subscribe", room: feed.id, after: feed.cursor });
  }
}

function renderRooms() {
  const all = [...state.rooms.values()];
  const byName = (a, b) => a.name.localeCompare(b.name) || a.id - b.id;
  // Rooms nest: a room created inside another is listed under it.
  const children = new Map();
  const tops = [];
  for (const r of all) {
    if (r.kind === "direct") continue;
    if (r.parent && state.rooms.has(r.parent)) {
      if (!children.has(r.parent)) children.set(r.parent, []);
      children.get(r.parent).push(r);
    } else {
      tops.push(r);
    }
  }
  const items = [];
  const seen = new Set();
  const walk = (r, depth) => {
    if (seen.has(r.id)) return; // a cycle cannot happen, but never loop
    seen.add(r.id);
    items.push(roomItem(r, depth));
    for (const c of (children.get(r.id) || []).sort(byName)) walk(c, depth + 1);
  };
  for (const r of tops.sort(byName)) walk(r, 0);
  const directs = all
    .filter((r) => r.kind === "direct")
    .sort(byName)
    .map((r) => roomItem(r, 0));
  for (const id of roomItems.keys()) if (!state.rooms.has(id)) roomItems.delete(id);
  setChildren(ui.rooms, items);
  setChildren(ui.directs, directs);
}

// The room list keeps one element per room and updates it in place: a list
// rebuilt under the pointer between mouse down and up loses the click.
const roomItems = new Map(); // room id -> <li>

function setChildren(list, items) {
  const now = [...list.children];
  if (now.length !== items.length || now.some((el, i) => el !== items[i])) list.replaceChildren(...items);
}

function roomItem(room, depth) {
  let li = roomItems.get(room.id);
  if (!li) {
    li = document.createElement("li");
    const btn = document.createElement("button");
    btn.type = "button";
    btn.dataset.roomId = String(room.id);
    btn.addEventListener("click", () => selectRoom(room.id));
    li.append(btn);
    roomItems.set(room.id, li);
  }
  const btn = li.firstElementChild;
  btn.className = "room";
  if (room.id === state.current) btn.classList.add("active");
  if (!room.member) btn.classList.add("not-member");
  if (depth > 0) {
    btn.classList.add("child");
    btn.style.setProperty("--depth", String(Math.min(depth, 6)));
  }
  btn.setAttribute("aria-current", room.id === state.current ? "true" : "false");

  const name = document.createElement("span");
  name.className = "room-name";
  name.textContent = roomTitle(room);
  btn.replaceChildren(roomMark(room), name);

  const feed = state.feeds.get(room.id);
  if (feed && room.member) {
    if (feed.mentions > 0) {
      const badge = document.createElement("span");
      badge.className = "mentions";
      badge.textContent = "@" + (feed.mentions > 99 ? "99+" : String(feed.mentions));
      badge.title = `${feed.mentions} mention${feed.mentions === 1 ? "" : "s"}`;
      btn.append(badge);
    }
    if (feed.unread > 0) {
      const badge = document.createElement("span");
      badge.className = "unread";
      badge.textContent = feed.unread > 99 ? "99+" : String(feed.unread);
      badge.title = `${feed.unread} unread`;
      btn.append(badge);
    }
  }
  return li;
}

// roomTitle is a direct room's other members, or the room's name.
function roomTitle(room) {
  if (room.kind !== "direct" || !state.me) return room.name;
  const members = state.members.get(room.id);
  if (members) {
    const others = members.filter((m) => m.id !== state.me.id).map((m) => m.name);
    if (others.length > 0) return others.join(", ");
  }
  return room.name;
}

const SVG = "http://www.w3.org/2000/svg";

// roomMark is "#" for a public room, "@" for a direct one and a padlock for
// a private one (drawn, so it needs no emoji font).
function roomMark(room) {
  const mark = document.createElement("span");
  mark.className = "room-mark";
  if (room.kind === "direct") {
    mark.setAttribute("aria-label", "direct");
    mark.textContent = "@";
    return mark;
  }
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

ui.roomsRefresh.addEventListener("click", () => syncFeeds());

// roomCreated puts a room we just made (or were given) on the list,
// subscribed, and opens it.
async function roomCreated(room) {
  state.rooms.set(room.id, room);
  ensureFeed(room.id, room.last_seq);
  subscribeFeeds();
  renderRooms();
  await selectRoom(room.id);
}

ui.roomForm.addEventListener(
  "submit",
  guarded(async (ev) => {
    ev.preventDefault();
    const name = ui.roomName.value.trim();
    if (!name) return;
    const data = await api("POST", "rooms", { name, private: ui.roomPrivate.checked });
    ui.roomName.value = "";
    ui.roomPrivate.checked = false;
    await roomCreated(data.room);
  }, ui.roomError),
);

// A room inside the current one: its link appears in the current room's
// stream.
ui.newChild.addEventListener("click", () => {
  ui.childForm.hidden = !ui.childForm.hidden;
  if (!ui.childForm.hidden) ui.childName.focus();
});
ui.childCancel.addEventListener("click", () => {
  ui.childForm.hidden = true;
});
ui.childForm.addEventListener(
  "submit",
  guarded(async (ev) => {
    ev.preventDefault();
    const name = ui.childName.value.trim();
    const parent = state.current;
    if (!name || parent === null) return;
    const data = await api("POST", "rooms", { name, private: ui.childPrivate.checked, parent });
    ui.childName.value = "";
    ui.childPrivate.checked = false;
    ui.childForm.hidden = true;
    state.rooms.set(data.room.id, data.room);
    ensureFeed(data.room.id, data.room.last_seq);
    subscribeFeeds();
    renderRooms();
  }, ui.roomErrorLive),
);

// openChild opens the room a link post points to.
async function openChild(id) {
  if (!state.rooms.has(id)) await refreshRooms();
  if (!state.rooms.has(id)) {
    showError(ui.roomErrorLive, "That room is private, or no longer there.");
    return;
  }
  await selectRoom(id);
}

ui.join.addEventListener(
  "click",
  guarded(async () => {
    const id = state.current;
    const data = await api("POST", `rooms/${id}/members`);
    state.rooms.set(id, data.room);
    const feed = state.feeds.get(id);
    if (feed) feed.lastRead = Math.max(feed.lastRead, feed.cursor);
    else {
      ensureFeed(id, data.room.last_seq);
      subscribeFeeds();
    }
    renderRooms();
    renderRoomHead();
    loadMembers(id);
    ui.composer.focus();
  }, ui.roomErrorLive),
);

ui.leave.addEventListener(
  "click",
  guarded(async () => {
    const id = state.current;
    await api("DELETE", `rooms/${id}/members/me`);
    closeRoom(id);
    await syncFeeds();
  }, ui.roomErrorLive),
);

// ---- direct messages ---------------------------------------------------------

let searchTimer = 0;
let searchSeq = 0;
ui.dmSearch.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(searchPeople, 200);
});
ui.dmForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  clearTimeout(searchTimer);
  searchPeople();
});

async function searchPeople() {
  const q = ui.dmSearch.value.trim();
  const mine = ++searchSeq;
  showError(ui.dmError, "");
  if (!q) {
    ui.dmResults.replaceChildren();
    return;
  }
  let data;
  try {
    data = await api("GET", "users?q=" + encodeURIComponent(q));
  } catch (err) {
    if (mine === searchSeq) showError(ui.dmError, err.message);
    return;
  }
  if (mine !== searchSeq) return; // an answer to an older query
  const users = data.users.filter((u) => u.id !== state.me.id);
  if (users.length === 0) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "Nobody by that name.";
    ui.dmResults.replaceChildren(li);
    return;
  }
  ui.dmResults.replaceChildren(
    ...users.map((u) => {
      state.names.set(u.id, u.name);
      const li = document.createElement("li");
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "ghost small person";
      btn.dataset.userId = u.id;
      btn.textContent = u.name;
      btn.title = `Message ${u.name}`;
      btn.addEventListener("click", guarded(() => openDirect(u.id), ui.dmError));
      li.append(btn);
      return li;
    }),
  );
}

async function openDirect(userID) {
  const data = await api("POST", "direct", { users: [userID] });
  ui.dmSearch.value = "";
  ui.dmResults.replaceChildren();
  await roomCreated(data.room);
}

// ---- the room on screen ------------------------------------------------------

async function selectRoom(id) {
  if (!state.rooms.has(id)) return;
  if (state.current !== id) {
    closeThread();
    ui.childForm.hidden = true;
  }
  state.current = id;
  history.replaceState(null, "", `#room=${id}`);
  showError(ui.roomErrorLive, "");
  let rs = state.open.get(id);
  if (!rs) {
    rs = new RoomState(id);
    state.open.set(id, rs);
  }
  renderRooms();
  renderRoomHead();
  renderMessages();
  renderTyping();
  ui.empty.hidden = true;
  ui.roomView.hidden = false;
  loadMembers(id);
  if (!rs.loaded) await loadNewest(rs);
  scrollToBottom();
  markRead();
}

function closeRoom(id) {
  state.open.delete(id);
  const feed = state.feeds.get(id);
  if (feed) {
    if (state.live && feed.socket === state.ws) wsSend({ type: "unsubscribe", room: id });
    state.feeds.delete(id);
  }
  for (const [cid, p] of state.pending) if (p.room === id) state.pending.delete(cid);
  if (state.current === id) {
    state.current = null;
    closeThread();
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

// moderates reports whether we may delete anybody's messages in the room:
// its creator may, except in direct rooms.
function moderates(room) {
  return !!room && !!state.me && room.kind !== "direct" && room.created_by === state.me.id;
}

function renderRoomHead() {
  const room = state.rooms.get(state.current);
  if (!room) return;
  ui.roomTitle.textContent = roomTitle(room);
  ui.roomKind.textContent = room.kind === "direct" ? "direct" : room.private ? "private" : "public";
  ui.join.hidden = room.member;
  ui.leave.hidden = !room.member;
  ui.newChild.hidden = !room.member || room.kind === "direct";
  ui.composer.disabled = !room.member;
  ui.send.disabled = !room.member;
  ui.composer.placeholder = room.member
    ? "Write a message — Enter to send, Shift+Enter for a new line"
    : "Join the room to write here";
}

ui.membersToggle.addEventListener("click", () => {
  ui.membersPanel.hidden = !ui.membersPanel.hidden;
  ui.membersToggle.setAttribute("aria-expanded", String(!ui.membersPanel.hidden));
});

async function loadMembers(id) {
  let data;
  try {
    data = await api("GET", `rooms/${id}/members`);
  } catch {
    return; // the list stays as it was
  }
  state.members.set(id, data.members);
  for (const m of data.members) state.names.set(m.id, m.name);
  if (id === state.current) {
    renderMembers();
    renderRoomHead();
  }
  const room = state.rooms.get(id);
  if (room && room.kind === "direct") renderRooms();
}

let membersSoon = 0;
function loadMembersSoon(id) {
  clearTimeout(membersSoon);
  membersSoon = setTimeout(() => loadMembers(id), 300);
}

function renderMembers() {
  const list = state.members.get(state.current) || [];
  ui.members.replaceChildren(
    ...list.map((m) => {
      const li = document.createElement("li");
      li.className = "member";
      li.dataset.userId = m.id;
      // Nobody is told of their own presence: this page is it.
      const self = state.me && m.id === state.me.id;
      const presence = self ? (state.away ? "away" : "online") : state.presence.get(m.id) || "offline";
      li.dataset.presence = presence;
      const dot = document.createElement("span");
      dot.className = "presence";
      dot.dataset.state = presence;
      dot.title = presence;
      dot.setAttribute("aria-label", presence);
      const name = document.createElement("span");
      name.className = "member-name";
      name.textContent = m.name;
      li.append(dot, name);
      return li;
    }),
  );
}

// ---- history ---------------------------------------------------------------

// loadNewest reads the room's last seq, then the newest page of its
// history: the history includes every event up to that seq, so events after
// it are applied on top (applying one twice is harmless, see applyEvent).
async function loadNewest(rs) {
  if (rs.loading) return;
  rs.loading = true;
  const gen = state.generation;
  let history;
  try {
    const { room } = await api("GET", `rooms/${rs.id}`);
    state.rooms.set(room.id, room);
    rs.base = room.last_seq;
    history = await api("GET", `rooms/${rs.id}/history?limit=${PAGE}`);
  } catch (err) {
    rs.loading = false;
    if (err instanceof APIError && err.status === 401) signedOut("Your session has ended. Pick a name to continue.");
    else if (state.current === rs.id) showError(ui.roomErrorLive, err.message);
    return;
  }
  if (gen !== state.generation || state.open.get(rs.id) !== rs) return;
  for (const m of history.messages) putMessage(rs, m);
  rs.more = history.messages.length >= PAGE;
  rs.loaded = true;
  rs.loading = false;
  const buffered = rs.buffer;
  rs.buffer = [];
  for (const m of buffered) applyEvent(rs, m);
  if (!state.feeds.has(rs.id)) {
    // A room we only look at: receive it from the history's seq on.
    ensureFeed(rs.id, rs.base);
    subscribeFeeds();
  }
  if (state.current === rs.id) {
    renderRoomHead();
    renderMessages();
    scrollToBottom();
    markRead();
  }
}

async function loadOlder() {
  const rs = state.open.get(state.current);
  if (!rs || !rs.loaded || rs.loadingOlder || !rs.more) return;
  rs.loadingOlder = true;
  try {
    const data = await api("GET", `rooms/${rs.id}/history?before=${rs.oldest}&limit=${PAGE}`);
    if (state.open.get(rs.id) !== rs) return;
    const before = ui.scroller.scrollHeight;
    const top = ui.scroller.scrollTop;
    for (const m of data.messages) {
      if (rs.msgs.has(m.seq)) continue;
      putMessage(rs, m);
      if (state.current === rs.id) placeMessage(messageElement(m), m.seq);
    }
    rs.more = data.messages.length >= PAGE;
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

function putMessage(rs, m) {
  const have = rs.msgs.get(m.seq);
  if (have && have.id) rs.byId.delete(have.id);
  rs.msgs.set(m.seq, m);
  if (m.id) rs.byId.set(m.id, m);
  if (rs.oldest === 0 || m.seq < rs.oldest) rs.oldest = m.seq;
  if (m.author) state.names.set(m.author.id, m.author.name);
}

function updateLoadOlder() {
  const rs = state.open.get(state.current);
  ui.loadOlder.hidden = !(rs && rs.loaded && rs.more);
}

ui.loadOlder.addEventListener("click", loadOlder);
ui.scroller.addEventListener("scroll", () => {
  if (ui.scroller.scrollTop < 40) loadOlder();
  markRead();
});

// ---- the stream ------------------------------------------------------------

// onStreamEvent takes one event of a subscribed room from the WebSocket.
function onStreamEvent(m) {
  const feed = state.feeds.get(m.room);
  if (!feed) return; // unsubscribed meanwhile
  if (m.seq <= feed.cursor) {
    debug.duplicates++;
    return;
  }
  if (m.seq > feed.cursor + 1) {
    // The protocol promises no gaps; if one shows up anyway, reload
    // rather than show a hole (and count it, see debug).
    debug.gaps++;
    console.warn(`room ${m.room}: gap in the stream, ${feed.cursor} -> ${m.seq}`);
    reloadRoom(m.room);
    refreshUnreadSoon();
  }
  feed.cursor = m.seq;
  if (m.author) state.names.set(m.author.id, m.author.name);
  count(feed, m);
  if (m.author && (m.kind || "message") === "message") stopTyping(m.room, m.author.id);

  const rs = state.open.get(m.room);
  if (rs) {
    if (rs.loaded) applyEvent(rs, m);
    else rs.buffer.push(m);
  }
  if (state.thread && state.thread.room === m.room) applyThreadEvent(state.thread, m);
  if (m.kind === "message" && !m.thread && m.author && state.me && m.author.id !== state.me.id && m.room === state.current) {
    // Somebody we do not know yet writes: they joined.
    const members = state.members.get(m.room);
    if (members && !members.some((x) => x.id === m.author.id)) loadMembersSoon(m.room);
  }
  if (m.kind === "room" && state.rooms.has(m.room)) refreshRooms();
  if (m.room === state.current) markRead();
}

// count keeps a feed's unread and mention counts as the server counts
// them (docs/protocol.md, UnreadCount).
function count(feed, m) {
  if (m.seq <= feed.counted) return;
  feed.counted = m.seq;
  if (m.seq <= feed.lastRead || !state.me || !m.author || m.author.id === state.me.id) return;
  const kind = m.kind || "message";
  let changed = false;
  if ((kind === "message" && !m.thread) || kind === "room") {
    feed.unread++;
    changed = true;
  }
  if (kind === "message" && mentionsMe(m)) {
    feed.mentions++;
    changed = true;
  }
  if (kind === "message" && m.thread) {
    const k = threadKey(m.room, m.thread);
    const open = state.thread && state.thread.room === m.room && state.thread.rootId === m.thread && pageVisible();
    if (isFollowing(m.room, m.thread) && !open) {
      state.threadUnread.set(k, (state.threadUnread.get(k) || 0) + 1);
      const rs = state.open.get(m.room);
      const root = rs && rs.byId.get(m.thread);
      if (root) rerender(m.room, root);
    }
  }
  if (changed) renderRooms();
}

function mentionsMe(m) {
  return !!state.me && (m.mentions_room || (m.mentions || []).includes(state.me.id));
}

function isFollowing(room, root) {
  const k = threadKey(room, root);
  if (state.following.has(k)) return state.following.get(k);
  const rs = state.open.get(room);
  const msg = rs && rs.byId.get(root);
  return !!msg && !!state.me && msg.author.id === state.me.id;
}

// applyEvent applies a stream event to an opened room. Events up to the
// history's seq are already in it; the others may be applied twice (after
// a reload), so each change is written to be harmless the second time.
function applyEvent(rs, m) {
  if (m.seq <= rs.base) return;
  const kind = m.kind || "message";
  if (kind === "message" && !m.thread) {
    addTopLevel(rs, m);
    return;
  }
  if (kind === "room") {
    addTopLevel(rs, m);
    return;
  }
  if (kind === "message") {
    const root = rs.byId.get(m.thread);
    if (!root) return; // a thread of a message not loaded
    const at = m.created_at || "";
    if (!root.last_reply_at || timeKey(at) > timeKey(root.last_reply_at)) {
      root.replies = (root.replies || 0) + 1;
      root.last_reply_at = at;
      rerender(rs.id, root);
    }
    return;
  }
  const target = rs.byId.get(m.target);
  if (!target) return;
  if (changeMessage(target, m)) rerender(rs.id, target);
}

// timeKey makes an RFC 3339 UTC time comparable as a string: the server
// leaves out trailing zeros of the fraction, so "05.1Z" must become
// "05.100000000Z" to sort after "05.09Z".
function timeKey(iso) {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(iso || "");
  if (!m) return iso || "";
  return `${m[1]}.${(m[2] || "").padEnd(9, "0")}Z`;
}

// changeMessage applies an edit, delete, react or unreact to msg and
// reports whether anything changed.
function changeMessage(msg, m) {
  switch (m.kind) {
    case "edit":
      if (msg.deleted) return false;
      msg.body = m.body;
      msg.edited_at = m.created_at;
      return true;
    case "delete":
      if (msg.deleted) return false;
      msg.deleted = true;
      msg.body = "";
      msg.reactions = [];
      msg.mentions = [];
      msg.mentions_room = false;
      return true;
    case "react": {
      if (msg.deleted) return false;
      const reactions = msg.reactions || (msg.reactions = []);
      let r = reactions.find((x) => x.emoji === m.emoji);
      if (!r) {
        r = { emoji: m.emoji, count: 0, users: [], mine: false };
        reactions.push(r);
      }
      if (r.users.includes(m.author.id)) return false;
      r.count++;
      r.users.push(m.author.id);
      if (state.me && m.author.id === state.me.id) r.mine = true;
      return true;
    }
    case "unreact": {
      const reactions = msg.reactions || [];
      const i = reactions.findIndex((x) => x.emoji === m.emoji);
      if (i < 0) return false;
      const r = reactions[i];
      const u = r.users.indexOf(m.author.id);
      if (u < 0) return false;
      r.users.splice(u, 1);
      r.count--;
      if (state.me && m.author.id === state.me.id) r.mine = false;
      if (r.count <= 0) reactions.splice(i, 1);
      return true;
    }
  }
  return false;
}

function addTopLevel(rs, m) {
  const have = rs.msgs.get(m.seq);
  if (have && !have.provisional) return;
  if (state.me && m.author && m.author.id === state.me.id && m.client_id) settlePending(m.client_id);
  putMessage(rs, m);
  if (rs.id === state.current) {
    const stick = nearBottom() || (state.me && m.author && m.author.id === state.me.id);
    placeMessage(messageElement(m), m.seq);
    if (stick) scrollToBottom();
  }
}

// reloadRoom forgets an opened room's history and loads it again.
function reloadRoom(id) {
  if (!state.open.has(id)) return;
  const rs = new RoomState(id);
  state.open.set(id, rs);
  if (state.current === id) renderMessages();
  loadNewest(rs);
}

// rerender replaces the element of msg wherever it is shown.
function rerender(room, msg) {
  if (room !== state.current || !msg.id) return;
  for (const el of document.querySelectorAll(`.message[data-id="${CSS.escape(msg.id)}"]`)) {
    const inThread = el.closest("#thread") !== null;
    el.replaceWith(messageElement(msg, { inThread, isRoot: inThread && el.closest("#thread-root") !== null }));
  }
}

function rerenderThreadSummaries() {
  const rs = state.open.get(state.current);
  if (!rs) return;
  for (const msg of rs.msgs.values()) {
    if (msg.replies > 0 || state.threadUnread.has(threadKey(rs.id, msg.id))) rerender(rs.id, msg);
  }
}

// ---- showing messages ----------------------------------------------------------

// messageElement shows a message. In the thread panel (inThread) there is no
// reply summary; a reply is never a thread root.
function messageElement(m, { inThread = false, isRoot = false } = {}) {
  const li = document.createElement("li");
  li.className = "message";
  li.dataset.seq = String(m.seq);
  if (m.id) li.dataset.id = m.id;
  const mine = !!state.me && !!m.author && m.author.id === state.me.id;
  if (mine) li.classList.add("mine");
  if (!mine && mentionsMe(m)) li.classList.add("mentions-me");
  if (m.deleted) li.classList.add("deleted");
  if (m.provisional) li.classList.add("provisional");

  const main = document.createElement("div");
  main.className = "content";
  const meta = document.createElement("div");
  meta.className = "meta";
  const author = document.createElement("span");
  author.className = "author";
  author.textContent = m.author.name;
  meta.append(author, timeElement(m.created_at));
  if (m.edited_at && !m.deleted) {
    const edited = document.createElement("span");
    edited.className = "edited";
    edited.textContent = "(edited)";
    edited.title = "edited " + new Date(m.edited_at).toLocaleString();
    meta.append(edited);
  }
  main.append(meta);

  if (m.kind === "room") {
    main.append(roomLinkBody(m));
  } else if (m.deleted) {
    const body = document.createElement("div");
    body.className = "body tombstone";
    body.textContent = "This message was deleted.";
    main.append(body);
  } else {
    const body = document.createElement("div");
    body.className = "body";
    body.append(renderBody(m.body, mentionNames()));
    main.append(body);
  }

  if (!m.deleted && m.reactions && m.reactions.length > 0) main.append(reactionsElement(m));
  if (!inThread && !m.thread && m.kind !== "room") {
    const summary = threadSummary(m);
    if (summary) main.append(summary);
  }
  li.append(avatar(m.author), main);
  if (!m.provisional && m.id) {
    const actions = actionsElement(m, { inThread, isRoot });
    if (actions) li.append(actions);
  }
  return li;
}

function timeElement(iso) {
  const time = document.createElement("time");
  time.className = "time";
  const at = iso ? new Date(iso) : new Date();
  time.dateTime = at.toISOString();
  time.title = at.toLocaleString();
  time.textContent = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return time;
}

// roomLinkBody is the post a room created inside this one leaves: a button
// that opens it. A private room's link has no name.
function roomLinkBody(m) {
  const body = document.createElement("div");
  body.className = "body room-link";
  if (m.deleted) {
    body.textContent = "This room link was deleted.";
    return body;
  }
  const text = document.createElement("span");
  text.textContent = "created a room inside this one: ";
  const btn = document.createElement("button");
  btn.type = "button";
  btn.className = "ghost small child-link";
  btn.dataset.roomId = String(m.child);
  btn.textContent = m.body ? "#" + m.body : "a private room";
  btn.addEventListener("click", () => openChild(m.child));
  body.append(text, btn);
  return body;
}

// mentionNames are the names @ can mention in the room on screen, with the
// current user's marked, for the renderer to highlight.
function mentionNames() {
  const members = state.members.get(state.current) || [];
  return members.map((x) => ({ name: x.name, me: !!state.me && x.id === state.me.id }));
}

function reactionsElement(m) {
  const box = document.createElement("div");
  box.className = "reactions";
  for (const r of m.reactions) {
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "reaction";
    if (r.mine) btn.classList.add("mine");
    btn.dataset.emoji = r.emoji;
    btn.dataset.count = String(r.count);
    btn.textContent = `${r.emoji} ${r.count}`;
    const who = r.users.map((id) => state.names.get(id) || "someone");
    if (r.count > who.length) who.push(`${r.count - who.length} more`);
    btn.title = `${who.join(", ")} reacted with ${r.emoji}`;
    btn.setAttribute("aria-pressed", String(!!r.mine));
    btn.addEventListener("click", guarded(() => react(m, r.emoji, !r.mine), errorTarget(m)));
    box.append(btn);
  }
  return box;
}

function threadSummary(m) {
  const unread = state.threadUnread.get(threadKey(m.room, m.id)) || 0;
  if (!m.replies && !unread) return null;
  const btn = document.createElement("button");
  btn.type = "button";
  btn.className = "ghost small reply-summary";
  const n = m.replies || 0;
  let text = `${n} ${n === 1 ? "reply" : "replies"}`;
  if (m.last_reply_at) {
    text += " · last " + new Date(m.last_reply_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  btn.textContent = text;
  if (unread > 0) {
    const badge = document.createElement("span");
    badge.className = "thread-new";
    badge.textContent = `${unread} new`;
    btn.append(" ", badge);
  }
  btn.addEventListener("click", () => openThread(m.room, m.id));
  return btn;
}

// actionsElement is the toolbar of a message: reply, react, edit, delete,
// as the rules of docs/protocol.md allow them.
function actionsElement(m, { inThread, isRoot }) {
  if (m.deleted) return null;
  const room = state.rooms.get(m.room);
  if (!room || !room.member) return null;
  const mine = !!state.me && m.author.id === state.me.id;
  const bar = document.createElement("div");
  bar.className = "actions";
  const add = (action, label, title, fn) => {
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "ghost small act";
    btn.dataset.action = action;
    btn.textContent = label;
    btn.title = title;
    btn.addEventListener("click", fn);
    bar.append(btn);
    return btn;
  };
  if (!inThread && !m.thread && m.kind !== "room") add("reply", "Reply", "Reply in a thread", () => openThread(m.room, m.id));
  add("react", "React", "Add a reaction", () => togglePicker(bar, m));
  if (mine && m.kind !== "room") add("edit", "Edit", "Edit your message", (ev) => startEdit(m, ev.currentTarget.closest(".message")));
  if (mine || moderates(room)) {
    const del = add("delete", "Delete", mine ? "Delete your message" : "Delete as the room's moderator", () => {
      // Two clicks: the first arms the button, so one slip deletes nothing.
      if (del.dataset.armed !== "true") {
        del.dataset.armed = "true";
        del.textContent = "Delete?";
        del.classList.add("danger");
        setTimeout(() => {
          del.dataset.armed = "false";
          del.textContent = "Delete";
          del.classList.remove("danger");
        }, 4000);
        return;
      }
      guarded(() => deleteMessage(m), errorTarget(m))();
    });
  }
  if (isRoot) bar.classList.add("root-actions");
  return bar;
}

function errorTarget(m) {
  return () => (m.thread && state.thread ? ui.threadError : ui.roomErrorLive);
}

function togglePicker(bar, m) {
  const open = bar.querySelector(".picker");
  if (open) {
    open.remove();
    return;
  }
  const picker = document.createElement("div");
  picker.className = "picker";
  picker.setAttribute("role", "group");
  picker.setAttribute("aria-label", "Reactions");
  for (const e of EMOJI) {
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "ghost small pick";
    btn.dataset.emoji = e;
    btn.textContent = e;
    const has = (m.reactions || []).find((r) => r.emoji === e);
    btn.addEventListener(
      "click",
      guarded(async () => {
        picker.remove();
        await react(m, e, !(has && has.mine));
      }, errorTarget(m)),
    );
    picker.append(btn);
  }
  bar.append(picker);
}

// The changes to a message go over HTTP with a client id (idempotent); the
// event comes back through the stream like everybody else's.
async function react(m, emoji, add) {
  const path = `rooms/${m.room}/messages/${encodeURIComponent(m.id)}/reactions/${encodeURIComponent(emoji)}`;
  await api(add ? "PUT" : "DELETE", path, { client_id: newClientID() });
}

async function deleteMessage(m) {
  await api("DELETE", `rooms/${m.room}/messages/${encodeURIComponent(m.id)}`, { client_id: newClientID() });
}

// startEdit puts an editor in place of the body of our own message.
function startEdit(m, li) {
  if (!li) return;
  const body = li.querySelector(".body");
  if (!body || li.querySelector(".edit-form")) return;
  const form = document.createElement("form");
  form.className = "edit-form";
  const input = document.createElement("textarea");
  input.className = "edit-input";
  input.maxLength = 16384;
  input.value = m.body;
  input.rows = Math.min(8, m.body.split("\n").length + 1);
  const save = document.createElement("button");
  save.type = "submit";
  save.className = "small edit-save";
  save.textContent = "Save";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "ghost small edit-cancel";
  cancel.textContent = "Cancel";
  const error = document.createElement("p");
  error.className = "error";
  error.hidden = true;
  form.append(input, save, cancel, error);
  const done = () => {
    form.replaceWith(body);
  };
  cancel.addEventListener("click", done);
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") done();
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener(
    "submit",
    guarded(async (ev) => {
      ev.preventDefault();
      const text = input.value;
      if (text.trim() === "" || text === m.body) return done();
      save.disabled = true;
      try {
        await api("PATCH", `rooms/${m.room}/messages/${encodeURIComponent(m.id)}`, { body: text, client_id: newClientID() });
      } finally {
        save.disabled = false;
      }
      done();
    }, error),
  );
  body.replaceWith(form);
  input.focus();
}

function pendingElement(p) {
  const li = messageElement({
    room: p.room,
    seq: 0,
    kind: "message",
    author: { id: state.me.id, name: state.me.name, avatar_url: state.me.avatar_url },
    body: p.body,
    created_at: p.at,
    provisional: true,
  });
  delete li.dataset.seq;
  li.classList.remove("provisional");
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
function placeMessage(el, seq, list = ui.messages) {
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
    for (const p of state.pending.values()) if (p.room === rs.id && !p.thread) items.push(pendingElement(p));
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

// ---- read markers --------------------------------------------------------------

function pageVisible() {
  return document.visibilityState === "visible";
}

// markRead advances the read marker of the room on screen once its newest
// message is in view: the page is visible and scrolled to the bottom.
function markRead() {
  const id = state.current;
  const feed = state.feeds.get(id);
  const rs = state.open.get(id);
  const room = state.rooms.get(id);
  if (!feed || !rs || !rs.loaded || !room || !room.member || !state.live) return;
  if (!pageVisible() || !nearBottom()) return;
  if (feed.cursor > feed.lastRead) {
    feed.lastRead = feed.cursor;
    wsSend({ type: "read", room: id, seq: feed.cursor });
  }
  if (feed.unread !== 0 || feed.mentions !== 0) {
    feed.unread = 0;
    feed.mentions = 0;
    renderRooms();
  }
}

// onRead is the echo of a read marker our other tabs or devices moved.
function onRead(f) {
  const feed = state.feeds.get(f.room);
  if (!feed || f.seq <= feed.lastRead) return;
  feed.lastRead = f.seq;
  if (f.seq >= feed.counted) {
    feed.unread = 0;
    feed.mentions = 0;
    renderRooms();
  } else {
    refreshUnreadSoon(); // only the server knows what is left
  }
}

document.addEventListener("visibilitychange", () => {
  if (pageVisible()) {
    markRead();
    markThreadRead();
    active();
  }
});
window.addEventListener("focus", () => markRead());

// ---- threads -----------------------------------------------------------------

async function openThread(room, root) {
  if (state.thread && state.thread.room === room && state.thread.rootId === root) return;
  const ts = new ThreadState(room, root);
  state.thread = ts;
  ui.thread.hidden = false;
  ui.roomView.classList.add("with-thread");
  showError(ui.threadError, "");
  ui.threadRoot.replaceChildren();
  ui.threadMessages.replaceChildren();
  renderFollow();
  const feed = state.feeds.get(room);
  ts.base = feed ? feed.cursor : 0;
  let data;
  try {
    data = await api("GET", `rooms/${room}/threads/${encodeURIComponent(root)}?limit=${PAGE}`);
  } catch (err) {
    if (state.thread === ts) showError(ui.threadError, err.message);
    return;
  }
  if (state.thread !== ts) return;
  const rs = state.open.get(room);
  // The root is the room view's own object when it is loaded there, so a
  // change shows in both places.
  ts.root = (rs && rs.byId.get(root)) || data.root;
  for (const m of data.messages) putReply(ts, m);
  ts.more = data.messages.length >= PAGE;
  ts.loaded = true;
  renderThread();
  ui.threadScroller.scrollTop = ui.threadScroller.scrollHeight;
  markThreadRead();
  ui.threadComposer.focus();
}

function putReply(ts, m) {
  const have = ts.replies.get(m.seq);
  if (have && have.id) ts.byId.delete(have.id);
  ts.replies.set(m.seq, m);
  if (m.id) ts.byId.set(m.id, m);
  if (ts.oldest === 0 || m.seq < ts.oldest) ts.oldest = m.seq;
  if (m.author) state.names.set(m.author.id, m.author.name);
}

function renderThread() {
  const ts = state.thread;
  if (!ts) return;
  ui.threadRoot.replaceChildren(ts.root ? messageElement(ts.root, { inThread: true, isRoot: true }) : "");
  const items = [...ts.replies.keys()].sort((a, b) => a - b).map((s) => messageElement(ts.replies.get(s), { inThread: true }));
  for (const p of state.pending.values()) {
    if (p.room === ts.room && p.thread === ts.rootId) items.push(pendingElement(p));
  }
  ui.threadMessages.replaceChildren(...items);
  ui.threadOlder.hidden = !ts.more;
  renderFollow();
  const room = state.rooms.get(ts.room);
  ui.threadForm.hidden = !room || !room.member || !ts.root || !!ts.root.deleted;
}

function renderFollow() {
  const ts = state.thread;
  if (!ts) return;
  const following = isFollowing(ts.room, ts.rootId);
  ui.threadFollow.textContent = following ? "Unfollow" : "Follow";
  ui.threadFollow.dataset.following = String(following);
  ui.threadFollow.title = following ? "Stop being told of new replies" : "Be told of new replies";
}

function applyThreadEvent(ts, m) {
  if (!ts.loaded || m.seq <= ts.base) return;
  const kind = m.kind || "message";
  if (kind === "message" && m.thread === ts.rootId) {
    const have = ts.replies.get(m.seq);
    if (have && !have.provisional) return;
    if (state.me && m.author.id === state.me.id && m.client_id) settlePending(m.client_id);
    putReply(ts, m);
    const s = ui.threadScroller;
    const stick = s.scrollHeight - s.scrollTop - s.clientHeight < 80 || m.author.id === state.me?.id;
    placeMessage(messageElement(m, { inThread: true }), m.seq, ui.threadMessages);
    if (stick) s.scrollTop = s.scrollHeight;
    markThreadRead();
    return;
  }
  if (m.target === ts.rootId) {
    // The room view's copy is changed (and shown) by applyEvent, unless the
    // room is not loaded with it.
    const rs = state.open.get(ts.room);
    if (!(rs && rs.byId.get(ts.rootId) === ts.root) && ts.root && changeMessage(ts.root, m)) {
      ui.threadRoot.replaceChildren(messageElement(ts.root, { inThread: true, isRoot: true }));
    }
    if (m.kind === "delete") renderThread();
    return;
  }
  const target = ts.byId.get(m.target);
  if (target && changeMessage(target, m)) rerender(ts.room, target);
}

// markThreadRead moves the thread's marker to its newest reply while the
// panel shows it.
function markThreadRead() {
  const ts = state.thread;
  if (!ts || !ts.loaded || !pageVisible()) return;
  const k = threadKey(ts.room, ts.rootId);
  const last = Math.max(0, ...ts.replies.keys());
  const had = state.threadUnread.get(k) || 0;
  if (had > 0) {
    state.threadUnread.delete(k);
    const rs = state.open.get(ts.room);
    const root = rs && rs.byId.get(ts.rootId);
    if (root) rerender(ts.room, root);
  }
  if (last > (ts.marked || 0) && isFollowing(ts.room, ts.rootId)) {
    ts.marked = last;
    api("PUT", `rooms/${ts.room}/threads/${encodeURIComponent(ts.rootId)}/read`, { seq: last }).catch((err) => console.warn(err));
  }
}

function closeThread() {
  state.thread = null;
  ui.thread.hidden = true;
  ui.roomView.classList.remove("with-thread");
  ui.threadRoot.replaceChildren();
  ui.threadMessages.replaceChildren();
}

ui.threadClose.addEventListener("click", closeThread);

ui.threadFollow.addEventListener(
  "click",
  guarded(async () => {
    const ts = state.thread;
    if (!ts) return;
    const follow = !isFollowing(ts.room, ts.rootId);
    await api(follow ? "PUT" : "DELETE", `rooms/${ts.room}/threads/${encodeURIComponent(ts.rootId)}/follow`);
    const k = threadKey(ts.room, ts.rootId);
    state.following.set(k, follow);
    if (!follow) state.threadUnread.delete(k);
    renderFollow();
    if (follow) markThreadRead();
  }, ui.threadError),
);

ui.threadOlder.addEventListener(
  "click",
  guarded(async () => {
    const ts = state.thread;
    if (!ts || !ts.more) return;
    const data = await api("GET", `rooms/${ts.room}/threads/${encodeURIComponent(ts.rootId)}?before=${ts.oldest}&limit=${PAGE}`);
    if (state.thread !== ts) return;
    for (const m of data.messages) if (!ts.replies.has(m.seq)) putReply(ts, m);
    ts.more = data.messages.length >= PAGE;
    renderThread();
  }, ui.threadError),
);

ui.threadForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const ts = state.thread;
  const body = ui.threadComposer.value;
  if (!ts || body.trim() === "") return;
  ui.threadComposer.value = "";
  const k = threadKey(ts.room, ts.rootId);
  // Replying follows the thread, unless it was unfollowed on purpose.
  if (!state.following.has(k)) state.following.set(k, true);
  renderFollow();
  queueSend(ts.room, body, ts.rootId);
});

ui.threadComposer.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    ui.threadForm.requestSubmit();
  }
});
ui.threadComposer.addEventListener("input", () => typed(state.thread && state.thread.room));

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

function sendFrame(p) {
  const f = { type: "send", room: p.room, client_id: p.client_id, body: p.body };
  if (p.thread) f.thread = p.thread;
  return f;
}

// queueSend shows a message (or with thread, a reply) as pending and sends
// it now, or as soon as the socket is back.
function queueSend(room, body, thread) {
  // A message ends the typing notice where it arrives: typing again
  // announces itself at once.
  state.lastTyping.delete(room);
  const p = { room, client_id: newClientID(), body, at: new Date().toISOString() };
  if (thread) p.thread = thread;
  state.pending.set(p.client_id, p);
  if (thread) {
    ui.threadMessages.append(pendingElement(p));
    ui.threadScroller.scrollTop = ui.threadScroller.scrollHeight;
  } else {
    ui.messages.append(pendingElement(p));
    scrollToBottom();
  }
  if (state.live) wsSend(sendFrame(p));
}

ui.composerForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const body = ui.composer.value;
  const room = state.current;
  if (room === null || body.trim() === "") return;
  ui.composer.value = "";
  autosize();
  queueSend(room, body);
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
ui.composer.addEventListener("input", () => {
  autosize();
  typed(state.current);
});

function settlePending(clientID) {
  const p = state.pending.get(clientID);
  if (!p) return null;
  state.pending.delete(clientID);
  for (const el of document.querySelectorAll(`.pending[data-client-id="${CSS.escape(clientID)}"]`)) el.remove();
  return p;
}

function onAck(f) {
  const p = settlePending(f.client_id);
  if (!p) return; // already settled by the message itself, or a resend's ack
  const m = {
    room: f.room,
    seq: f.seq,
    id: f.id,
    client_id: f.client_id,
    kind: "message",
    author: { id: state.me.id, name: state.me.name, avatar_url: state.me.avatar_url || "" },
    body: p.body,
    created_at: p.at,
    provisional: true, // the stream will bring the real one (time, mentions)
  };
  if (p.thread) {
    m.thread = p.thread;
    const ts = state.thread;
    if (ts && ts.room === f.room && ts.rootId === p.thread && !ts.replies.has(f.seq)) {
      putReply(ts, m);
      placeMessage(messageElement(m, { inThread: true }), m.seq, ui.threadMessages);
    }
    return;
  }
  const rs = state.open.get(f.room);
  if (!rs || !rs.loaded || f.seq <= rs.base || rs.msgs.has(f.seq)) return;
  putMessage(rs, m);
  if (f.room === state.current) placeMessage(messageElement(m), m.seq);
}

function onSendError(f) {
  const p = state.pending.get(f.client_id);
  if (!p) return;
  if (f.code === "unavailable") {
    // Not stored, or not known to be (the node cannot reach its database):
    // it stays pending and goes again, with the same client_id, on a new
    // connection, which a load balancer may give to another node.
    if (state.ws) state.ws.close(4000, "resend elsewhere");
    return;
  }
  // Refused for good (invalid, too large, not allowed): stop resending it.
  state.pending.delete(f.client_id);
  p.error = f.message || f.code;
  for (const el of document.querySelectorAll(`.pending[data-client-id="${CSS.escape(f.client_id)}"]`)) {
    el.replaceWith(pendingElement(p));
  }
}

// ---- typing and presence ---------------------------------------------------------

// typed tells the room we are typing, at most every TYPING_EVERY ms.
function typed(room) {
  active();
  if (room === null || room === undefined || !state.live) return;
  const now = Date.now();
  if (now - (state.lastTyping.get(room) || 0) < TYPING_EVERY) return;
  state.lastTyping.set(room, now);
  wsSend({ type: "typing", room });
}

function onTyping(f) {
  if (!f.user || (state.me && f.user.id === state.me.id)) return;
  if (!state.typing.has(f.room)) state.typing.set(f.room, new Map());
  state.typing.get(f.room).set(f.user.id, { name: f.user.name, until: Date.now() + TYPING_SHOW });
  renderTyping();
  setTimeout(renderTyping, TYPING_SHOW + 50);
}

function stopTyping(room, user) {
  const m = state.typing.get(room);
  if (m && m.delete(user) && room === state.current) renderTyping();
}

function renderTyping() {
  const now = Date.now();
  const m = state.typing.get(state.current);
  const names = [];
  if (m) {
    for (const [id, t] of m) {
      if (t.until <= now) m.delete(id);
      else names.push(t.name);
    }
  }
  let text = "";
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = "Several people are typing…";
  ui.typing.textContent = text;
}

function onPresence(f) {
  if (!f.user) return;
  if (f.state === "online" || f.state === "away") state.presence.set(f.user.id, f.state);
  else state.presence.delete(f.user.id);
  state.names.set(f.user.id, f.user.name);
  const members = state.members.get(state.current);
  if (members && members.some((x) => x.id === f.user.id)) renderMembers();
}

// active notes input: we are online again if we were away, and away after
// IDLE_AFTER without any.
function active() {
  if (!state.me) return;
  clearTimeout(state.idleTimer);
  state.idleTimer = setTimeout(goAway, IDLE_AFTER);
  if (state.away) {
    state.away = false;
    wsSend({ type: "presence", state: "online" });
  }
}

function goAway() {
  if (state.away || !state.me) return;
  state.away = true;
  wsSend({ type: "presence", state: "away" });
}

// The browser test cannot wait five idle minutes: it calls this instead.
debug.idle = goAway;

for (const ev of ["pointerdown", "keydown"]) {
  window.addEventListener(ev, () => active(), { passive: true });
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
    // Resume every room from its cursor at once, then resend what is
    // unacked; syncFeeds adds the rooms that appeared meanwhile.
    subscribeFeeds();
    for (const p of state.pending.values()) wsSend(sendFrame(p));
    if (state.away) wsSend({ type: "presence", state: "away" });
    syncFeeds();
    markRead();
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
        onStreamEvent(f);
        break;
      case "ack":
        onAck(f);
        break;
      case "subscribed": {
        // Everything up to f.seq has been delivered.
        const feed = state.feeds.get(f.room);
        if (feed && f.seq > feed.cursor) {
          // Only possible if the server broke its promise; read it again.
          debug.gaps++;
          feed.cursor = f.seq;
          reloadRoom(f.room);
          refreshUnreadSoon();
        }
        break;
      }
      case "unsubscribed":
        break;
      case "read":
        onRead(f);
        break;
      case "typing":
        onTyping(f);
        break;
      case "presence":
        onPresence(f);
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
    if (gen !== state.generation || state.parked) return;
    if (opened) debug.closeCodes.push(ev.code);
    if (ev.code === 4001) {
      signedOut("Your session has ended. Pick a name to continue.");
      return;
    }
    debug.reconnects++;
    setStatus("reconnecting", "reconnecting…");
    // Nobody is online while we are away: presence and typing restart with
    // the next connection.
    state.presence.clear();
    state.typing.clear();
    renderMembers();
    renderTyping();
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

function setStatus(kind, text) {
  ui.status.dataset.state = kind;
  ui.status.textContent = text;
}

// A page left for another is kept by the browser (the back/forward cache)
// with its socket open, and would look online for ever: close the socket,
// and resume from the cursors when the page is shown again.
window.addEventListener("pagehide", (ev) => {
  if (!ev.persisted || !state.me) return;
  state.parked = true;
  disconnect();
});
window.addEventListener("pageshow", (ev) => {
  if (!ev.persisted || !state.parked) return;
  state.parked = false;
  if (state.me) {
    state.attempt = 0;
    connect();
  }
});

// Back online after sleep or a network change: try now rather than wait.
window.addEventListener("online", () => {
  if (state.me && !state.ws) {
    state.attempt = 0;
    connect();
  }
});

start();
