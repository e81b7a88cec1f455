// The client's controller: signing in and out, the socket and what its
// frames do to the state, and every action a person takes. Components read
// the signals of state/ and call the functions here.
//
// The invariants (docs/protocol.md):
//   - user data only ever reaches the DOM as text (Preact text nodes, and
//     markdown.ts, which builds nodes, never HTML);
//   - per room, the cursor is the highest seq received from the stream, and
//     every (re)subscription asks for `after = cursor`: a reconnect loses
//     nothing and doubles nothing;
//   - every member room is subscribed, so unread and mention counts follow
//     live; GET /rooms and GET /unread are the snapshot taken on every
//     (re)connect, the per-user frames (room, room_gone, profile, member)
//     keep the sidebar current between them;
//   - a send lives in the outbox (IndexedDB) until its ack, and is sent
//     again with the same client_id after any reconnect or reload.

import { batch } from "@preact/signals";
import { api, APIError, unauthorized, upload, wsURL } from "./api";
import { newClientID } from "./ids";
import { Outbox, frameOf, type OutboxEntry } from "./outbox";
import { parseRoute, roomHash } from "./route";
import { debug, Socket } from "./socket";
import { t } from "./i18n";
import type { Author, Message, Room, ServerFrame, UnreadCount, UnreadThread, User } from "./types";
import { arrive, count, mentionsUser, readUpTo, takeSnapshot } from "./state/feed";
import {
  bumpCounts,
  ensureFeed,
  feeds,
  following,
  setFollowing,
  setThreadUnread,
  threadKey,
  threadUnread,
} from "./state/feeds";
import { applyToRoom, applyToThread } from "./state/fold";
import { clearSignals, setPresence, setTyping, stopTyping, TYPING_SHOW } from "./state/presence";
import { dropRoom, members, people, putRoom, rooms, setMembers } from "./state/rooms";
import { away, booted, conn, me, notice, wasConnected } from "./state/session";
import { announcement, banner, current, currentRoom, open, pending, RoomState, thread, ThreadState } from "./state/view";

export const PAGE = 50; // history page size
const TYPING_EVERY = 3000; // ms between two typing frames while typing
const IDLE_AFTER = 5 * 60 * 1000; // ms without input before "away"
export const EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "👀"]; // the reaction picker

const outbox = new Outbox();
let generation = 0; // bumped on sign-in and sign-out: stale callbacks do nothing
let idleTimer = 0;
let parked = false;
const lastTyping = new Map<number, number>();

/** Where the message list is scrolled: set by the view, read by markRead. */
export const scroll = { atBottom: true, toBottom: () => {} };

const socket = new Socket(() => wsURL(), {
  open: onOpen,
  frame: onFrame,
  close: onClose,
});

(window as unknown as { hanashiDebug: typeof debug }).hanashiDebug = debug;
debug.idle = goAway;
debug.feeds = () => [...feeds.values()].map((f) => ({ ...f }));

function pageVisible(): boolean {
  return document.visibilityState === "visible";
}

function meID(): string | undefined {
  return me.value?.id;
}

/** fail shows an error: a lost session sends the person to the sign-in screen. */
function fail(err: unknown, show: (text: string) => void): void {
  if (unauthorized(err)) {
    signedOut("ended");
    return;
  }
  console.error(err);
  show(errorText(err));
}

export function errorText(err: unknown): string {
  if (err instanceof APIError) {
    if (err.status === 0) return t("error.network");
    return err.message || t("error.generic");
  }
  return err instanceof Error ? err.message : String(err);
}

function showRoomError(text: string): void {
  const rs = currentRoom.value;
  if (rs) rs.error.value = text;
  else banner.value = text;
}

// ---- signing in and out ----------------------------------------------------

/** start asks who we are, with the room list and counts fetched alongside. */
export async function start(): Promise<void> {
  const gen = generation;
  const meP = api<{ user: User }>("GET", "me");
  const roomsP = api<{ rooms: Room[] }>("GET", "rooms");
  const unreadP = api<{ rooms: UnreadCount[]; threads: UnreadThread[] }>("GET", "unread");
  // Nobody waits on these when /me fails.
  roomsP.catch(() => {});
  unreadP.catch(() => {});
  let user: User;
  try {
    user = (await meP).user;
  } catch (err) {
    if (gen !== generation) return;
    if (unauthorized(err)) {
      batch(() => {
        conn.value = "offline";
        booted.value = true;
      });
      return;
    }
    // The server is unreachable: keep trying.
    conn.value = "offline";
    setTimeout(() => void start(), 2000);
    return;
  }
  if (gen !== generation) return;
  signedIn(user, Promise.all([roomsP, unreadP]));
}

export async function guestSignIn(name: string): Promise<void> {
  const data = await api<{ user: User }>("POST", "guests", { name });
  notice.value = "";
  signedIn(data.user);
}

function signedIn(user: User, snapshot?: Promise<[{ rooms: Room[] }, { rooms: UnreadCount[]; threads: UnreadThread[] }]>): void {
  generation++;
  batch(() => {
    me.value = user;
    booted.value = true;
    conn.value = "connecting";
    wasConnected.value = false;
    away.value = false;
  });
  people.set(user.id, user);
  void outbox.load(user.id).then(() => {
    showPending();
    flushOutbox();
  });
  socket.start();
  void syncFeeds(snapshot).then(() => applyRoute());
  active();
}

export function signedOut(why: "" | "ended" | "everywhere"): void {
  generation++;
  socket.stop();
  clearTimeout(idleTimer);
  feeds.clear();
  open.clear();
  lastTyping.clear();
  outbox.entries.clear();
  batch(() => {
    me.value = null;
    notice.value = why;
    conn.value = "offline";
    rooms.value = new Map();
    members.value = new Map();
    threadUnread.value = new Map();
    following.value = new Map();
    current.value = null;
    currentRoom.value = null;
    thread.value = null;
    pending.value = [];
    banner.value = "";
    booted.value = true;
  });
  clearSignals();
}

export async function signOut(everywhere: boolean): Promise<void> {
  const user = meID();
  await api("DELETE", everywhere ? "sessions" : "session");
  if (user) await outbox.clear(user);
  signedOut(everywhere ? "everywhere" : "");
}

export async function rename(name: string): Promise<void> {
  const data = await api<{ user: User }>("PATCH", "me", { name });
  me.value = data.user;
  people.set(data.user.id, data.user);
}

export async function uploadAvatar(file: File): Promise<void> {
  const data = await upload<{ avatar_url: string }>("me/avatar", file);
  const user = me.value;
  if (user) me.value = { ...user, avatar_url: data.avatar_url };
}

// ---- rooms and feeds -------------------------------------------------------

type Snapshot = [{ rooms: Room[] }, { rooms: UnreadCount[]; threads: UnreadThread[] }];

/**
 * syncFeeds takes the snapshot (GET /rooms and /unread, in parallel):
 * the room list, the counts, and a feed for every member room; feeds of
 * rooms no longer visible go.
 */
export async function syncFeeds(snapshot?: Promise<Snapshot>): Promise<void> {
  const gen = generation;
  let data: Snapshot;
  try {
    data = await (snapshot ??
      Promise.all([
        api<{ rooms: Room[] }>("GET", "rooms"),
        api<{ rooms: UnreadCount[]; threads: UnreadThread[] }>("GET", "unread"),
      ]));
  } catch (err) {
    if (gen === generation && unauthorized(err)) signedOut("ended");
    return; // offline: the next connect takes the snapshot
  }
  if (gen !== generation) return;
  const [list, unread] = data;
  const next = new Map(list.rooms.map((r) => [r.id, r]));
  batch(() => {
    rooms.value = next;
    for (const id of [...open.keys()]) if (!next.has(id)) closeRoom(id);
    // The counts first: a feed they make starts at the server's read marker.
    takeUnread(unread);
    for (const r of next.values()) if (r.member) ensureFeed(r.id, r.last_seq);
    for (const [id, f] of feeds) {
      const r = next.get(id);
      if (!r || (!r.member && !open.has(id))) {
        if (f.socket === socket.connection && f.socket) socket.send({ type: "unsubscribe", room: id });
        feeds.delete(id);
      }
    }
  });
  subscribeFeeds();
  markRead();
  // A direct room is named after the others in it.
  for (const r of next.values()) if (r.kind === "direct" && !members.value.has(r.id)) void loadMembers(r.id);
}

function takeUnread(data: { rooms: UnreadCount[]; threads: UnreadThread[] }): void {
  for (const u of data.rooms) {
    const r = rooms.value.get(u.room);
    if (!r?.member) continue;
    takeSnapshot(ensureFeed(u.room, u.last_seq, u.last_read), u);
  }
  const tu = new Map<string, number>();
  const fol = new Map(following.value);
  for (const th of data.threads) {
    const k = threadKey(th.room, th.root);
    if (th.unread > 0) tu.set(k, th.unread);
    fol.set(k, true);
  }
  // The open thread is read as it comes.
  const ts = thread.value;
  if (ts && pageVisible()) tu.delete(threadKey(ts.room, ts.rootId));
  threadUnread.value = tu;
  following.value = fol;
  bumpCounts();
}

let unreadSoon = 0;
function refreshUnreadSoon(): void {
  clearTimeout(unreadSoon);
  unreadSoon = window.setTimeout(async () => {
    const gen = generation;
    try {
      const data = await api<{ rooms: UnreadCount[]; threads: UnreadThread[] }>("GET", "unread");
      if (gen === generation) takeUnread(data);
    } catch {
      // the next connect takes the snapshot
    }
  }, 300);
}

/** subscribeFeeds subscribes every feed not yet subscribed on this connection, from its cursor. */
function subscribeFeeds(): void {
  const c = socket.connection;
  if (!c) return;
  for (const f of feeds.values()) {
    if (f.socket === c) continue;
    f.socket = c;
    socket.send({ type: "subscribe", room: f.id, after: f.cursor });
  }
}

/** roomSeen puts a room on the list with a feed when we are in it. */
function roomSeen(r: Room): void {
  putRoom(r);
  if (r.member) {
    const f = feeds.get(r.id);
    if (f) f.lastRead = Math.max(f.lastRead, Math.min(f.cursor, r.last_seq));
    else ensureFeed(r.id, r.last_seq);
    subscribeFeeds();
  }
  bumpCounts();
}

export async function createRoom(name: string, priv: boolean, parent?: number): Promise<Room> {
  const body: Record<string, unknown> = { name, private: priv };
  if (parent !== undefined) body.parent = parent;
  const data = await api<{ room: Room }>("POST", "rooms", body);
  roomSeen(data.room);
  return data.room;
}

export async function join(): Promise<void> {
  const id = current.value;
  if (id === null) return;
  const data = await api<{ room: Room }>("POST", `rooms/${id}/members`);
  const f = feeds.get(id);
  if (f) f.lastRead = Math.max(f.lastRead, f.cursor);
  roomSeen(data.room);
  void loadMembers(id);
}

export async function leave(): Promise<void> {
  const id = current.value;
  if (id === null) return;
  await api("DELETE", `rooms/${id}/members/me`);
  const r = rooms.value.get(id);
  closeRoom(id);
  if (r && (r.private || r.kind === "direct")) dropRoom(id);
  else if (r) putRoom({ ...r, member: false });
  navigate("");
}

export async function searchPeople(q: string): Promise<Author[]> {
  const data = await api<{ users: Author[] }>("GET", "users?q=" + encodeURIComponent(q));
  return data.users.filter((u) => u.id !== meID());
}

export async function openDirect(user: string): Promise<void> {
  const data = await api<{ room: Room }>("POST", "direct", { users: [user] });
  roomSeen(data.room);
  navigate(roomHash(data.room.id));
}

/** openChild opens the room a link post points to. */
export async function openChild(id: number): Promise<void> {
  if (!rooms.value.has(id)) {
    try {
      const data = await api<{ room: Room }>("GET", `rooms/${id}`);
      putRoom(data.room);
    } catch (err) {
      if (err instanceof APIError && err.status === 404) showRoomError(t("room.linkGone"));
      else fail(err, showRoomError);
      return;
    }
  }
  navigate(roomHash(id));
}

export async function loadMembers(id: number): Promise<void> {
  let data: { members: Author[] };
  try {
    data = await api<{ members: Author[] }>("GET", `rooms/${id}/members`);
  } catch {
    return; // the list stays as it was
  }
  for (const m of data.members) people.set(m.id, m);
  setMembers(id, data.members);
}

// ---- routing and the room on screen -------------------------------------------

export function navigate(hash: string): void {
  if (location.hash === hash || (hash === "" && location.hash === "")) {
    applyRoute();
    return;
  }
  if (hash === "") history.replaceState(null, "", location.pathname + location.search);
  else location.hash = hash;
  applyRoute();
}

/** applyRoute shows what the hash names, once the room list knows the room. */
export function applyRoute(): void {
  if (!me.value) return;
  const r = parseRoute(location.hash);
  if (r.room === null || !rooms.value.has(r.room)) {
    if (r.room === null && current.value !== null) unselect();
    return;
  }
  if (r.room !== current.value) void selectRoom(r.room);
  if (r.thread) void openThread(r.room, r.thread);
  else if (thread.value) closeThread(false);
}

window.addEventListener("hashchange", () => applyRoute());

function unselect(): void {
  batch(() => {
    current.value = null;
    currentRoom.value = null;
    thread.value = null;
  });
}

export async function selectRoom(id: number): Promise<void> {
  if (!rooms.value.has(id)) return;
  let rs = open.get(id);
  if (!rs) {
    rs = new RoomState(id);
    open.set(id, rs);
  }
  rs.error.value = "";
  banner.value = "";
  batch(() => {
    if (current.value !== id) thread.value = null;
    current.value = id;
    currentRoom.value = rs;
  });
  void loadMembers(id);
  if (!rs.list.loaded) await loadNewest(rs);
  scroll.toBottom();
  markRead();
}

function closeRoom(id: number): void {
  open.delete(id);
  const f = feeds.get(id);
  if (f) {
    if (f.socket && f.socket === socket.connection) socket.send({ type: "unsubscribe", room: id });
    feeds.delete(id);
  }
  if (current.value === id) unselect();
}

/**
 * loadNewest reads the newest page of the room's history. The history
 * includes every event up to `base`, and every event after it comes from
 * the room's stream and is applied on top (twice is harmless). With a feed
 * the base is its cursor, known at once; otherwise the room's last seq,
 * asked first.
 */
async function loadNewest(rs: RoomState): Promise<void> {
  if (rs.loading) return;
  rs.loading = true;
  const gen = generation;
  let hist: { messages: Message[] };
  try {
    const feed = feeds.get(rs.id);
    if (feed) rs.list.base = feed.cursor;
    else {
      const { room } = await api<{ room: Room }>("GET", `rooms/${rs.id}`);
      putRoom(room);
      rs.list.base = room.last_seq;
    }
    hist = await api<{ messages: Message[] }>("GET", `rooms/${rs.id}/history?limit=${PAGE}`);
  } catch (err) {
    rs.loading = false;
    if (gen === generation) fail(err, (text) => (rs.error.value = text));
    return;
  }
  if (gen !== generation || open.get(rs.id) !== rs) return;
  for (const m of hist.messages) {
    rs.list.put(m);
    people.set(m.author.id, m.author);
  }
  rs.list.more = hist.messages.length >= PAGE;
  rs.list.loaded = true;
  rs.loading = false;
  const buffered = rs.buffer;
  rs.buffer = [];
  for (const m of buffered) applyToRoom(rs.list, m, meID());
  if (!feeds.has(rs.id)) {
    // A room we only look at: receive it from the history's seq on.
    ensureFeed(rs.id, rs.list.base);
    subscribeFeeds();
  }
  rs.bump();
  if (current.value === rs.id) {
    scroll.toBottom();
    markRead();
  }
}

export async function loadOlder(): Promise<void> {
  const rs = currentRoom.value;
  if (!rs || !rs.list.loaded || rs.loadingOlder || !rs.list.more) return;
  rs.loadingOlder = true;
  try {
    const data = await api<{ messages: Message[] }>("GET", `rooms/${rs.id}/history?before=${rs.list.oldest}&limit=${PAGE}`);
    if (open.get(rs.id) !== rs) return;
    for (const m of data.messages) if (!rs.list.bySeq.has(m.seq)) rs.list.put(m);
    rs.list.more = data.messages.length >= PAGE;
    rs.bump();
  } catch (err) {
    fail(err, (text) => (rs.error.value = text));
  } finally {
    rs.loadingOlder = false;
  }
}

/** reloadRoom forgets an opened room's history and loads it again. */
function reloadRoom(id: number): void {
  if (!open.has(id)) return;
  const rs = new RoomState(id);
  open.set(id, rs);
  if (current.value === id) currentRoom.value = rs;
  void loadNewest(rs);
}

// ---- the socket --------------------------------------------------------------

function onOpen(): void {
  batch(() => {
    conn.value = "connected";
    wasConnected.value = true;
  });
  // Resume every room from its cursor, then resend what is unacked; the
  // snapshot adds the rooms that appeared meanwhile.
  subscribeFeeds();
  flushOutbox();
  if (away.value) socket.send({ type: "presence", state: "away" });
  void syncFeeds();
  markRead();
}

function onClose(code: number, opened: boolean): void {
  const gen = generation;
  conn.value = "offline";
  if (parked) return;
  if (code === 4001) {
    signedOut("ended");
    return;
  }
  // Nobody is online while we are away: presence and typing restart with
  // the next connection.
  clearSignals();
  if (!opened) {
    // The upgrade was refused or the server is down. A browser cannot see
    // the status of a failed upgrade: ask whether we are still signed in.
    api("GET", "me").then(
      () => gen === generation && socket.later(),
      (err: unknown) => {
        if (gen !== generation) return;
        if (unauthorized(err)) signedOut("ended");
        else socket.later();
      },
    );
    return;
  }
  // 1008 (policy) must not be retried blindly: wait the longest delay.
  socket.later(code === 1008);
}

function onFrame(f: ServerFrame): void {
  switch (f.type) {
    case "message":
      onStreamEvent(f);
      break;
    case "ack":
      onAck(f.room, f.client_id, f.seq, f.id);
      break;
    case "subscribed": {
      // Everything up to f.seq has been delivered.
      const feed = feeds.get(f.room);
      if (feed && f.seq > feed.cursor) {
        // Only possible if the server broke its promise: read it again.
        debug.gaps++;
        feed.cursor = f.seq;
        reloadRoom(f.room);
        refreshUnreadSoon();
      }
      break;
    }
    case "unsubscribed": {
      // The server ended it (a private room left elsewhere): the next
      // snapshot decides whether it comes back.
      const feed = feeds.get(f.room);
      if (feed) feed.socket = 0;
      break;
    }
    case "read":
      onRead(f.room, f.seq);
      break;
    case "typing":
      onTyping(f.room, f.user);
      break;
    case "presence":
      if (f.user) {
        setPresence(f.user.id, f.state);
        people.set(f.user.id, { ...people.get(f.user.id), ...f.user });
      }
      break;
    case "error":
      if (f.client_id) onSendError(f.client_id, f.code, f.message);
      else if (f.room !== undefined && f.room === current.value) showRoomError(f.message);
      else console.warn("server error frame", f);
      break;
    case "room":
      onRoomFrame(f.room);
      break;
    case "room_gone":
      onRoomGone(f.room);
      break;
    case "profile":
      onProfile(f.user);
      break;
    case "member":
      onMember(f.room, f.user, f.member);
      break;
    default:
      // Newer server, older client: ignore what we do not know.
      break;
  }
}

function onRoomFrame(r: Room): void {
  const had = rooms.value.get(r.id);
  putRoom(r);
  if (r.member) {
    roomSeen(r);
  } else if (had?.member) {
    // Left a public room (here or elsewhere): it stays listed, unsubscribed.
    const f = feeds.get(r.id);
    if (f && !open.has(r.id)) {
      if (f.socket && f.socket === socket.connection) socket.send({ type: "unsubscribe", room: r.id });
      feeds.delete(r.id);
    }
    bumpCounts();
  }
}

function onRoomGone(id: number): void {
  closeRoom(id);
  dropRoom(id);
  bumpCounts();
  if (parseRoute(location.hash).room === id) navigate("");
}

function onProfile(u: Author): void {
  people.set(u.id, { ...people.get(u.id), ...u });
  const mine = me.value;
  if (mine && u.id === mine.id) me.value = { ...mine, name: u.name, avatar_url: u.avatar_url ?? mine.avatar_url };
  // Members lists show names and avatars: refresh the ones that hold the user.
  let changed = false;
  const next = new Map(members.value);
  for (const [id, list] of next) {
    if (list.some((m) => m.id === u.id)) {
      next.set(id, list.map((m) => (m.id === u.id ? { ...m, ...u } : m)));
      changed = true;
    }
  }
  if (changed) members.value = next;
}

function onMember(room: number, user: Author, member: boolean): void {
  people.set(user.id, { ...people.get(user.id), ...user });
  const list = members.value.get(room);
  if (!list) return;
  const without = list.filter((m) => m.id !== user.id);
  setMembers(room, member ? [...without, user].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) : without);
}

/** onStreamEvent takes one event of a subscribed room. */
function onStreamEvent(m: Message): void {
  const feed = feeds.get(m.room);
  if (!feed) return; // unsubscribed meanwhile
  const arrival = arrive(feed, m.seq);
  if (arrival === "duplicate") {
    debug.duplicates++;
    return;
  }
  if (arrival === "gap") {
    // The protocol promises no gaps; if one shows up anyway, reload rather
    // than show a hole (and count it for the tests).
    debug.gaps++;
    console.warn(`room ${m.room}: gap in the stream before ${m.seq}`);
    reloadRoom(m.room);
    refreshUnreadSoon();
  }
  const user = meID();
  if (m.author) people.set(m.author.id, { ...people.get(m.author.id), ...m.author });
  const kind = m.kind ?? "message";
  if (kind === "message" && m.author) stopTyping(m.room, m.author.id);
  if (kind === "message" && m.author?.id === user && m.client_id) settle(m.client_id);
  if (count(feed, m, user)) bumpCounts();
  if (kind === "message" && m.thread && m.author?.id !== user) countThreadReply(m);

  const rs = open.get(m.room);
  if (rs) {
    if (!rs.list.loaded) rs.buffer.push(m);
    else if (applyToRoom(rs.list, m, user)) rs.bump();
  }
  const ts = thread.value;
  if (ts && ts.room === m.room) {
    const res = applyToThread(ts.list, ts.root.value, ts.rootId, m, user);
    if (res.root !== ts.root.value) ts.root.value = res.root;
    if (res.replies) {
      ts.bump();
      markThreadRead();
    }
  }
  if (m.room === current.value && kind === "message" && m.author && m.author.id !== user) {
    if (!m.thread || (ts && ts.rootId === m.thread)) announce(m);
    // Somebody we do not know yet writes: they joined.
    const list = members.value.get(m.room);
    if (list && !list.some((x) => x.id === m.author.id)) void loadMembers(m.room);
  }
  if (m.room === current.value) markRead();
}

function announce(m: Message): void {
  const body = m.body.length > 140 ? m.body.slice(0, 140) + "…" : m.body;
  announcement.value = t("announce.message", { name: m.author.name, body });
}

function countThreadReply(m: Message): void {
  const root = m.thread!;
  const ts = thread.value;
  const showing = ts && ts.room === m.room && ts.rootId === root && pageVisible();
  if (showing || !isFollowing(m.room, root)) return;
  const k = threadKey(m.room, root);
  setThreadUnread(k, (threadUnread.value.get(k) ?? 0) + 1);
}

export function isFollowing(room: number, root: string): boolean {
  const k = threadKey(room, root);
  const known = following.value.get(k);
  if (known !== undefined) return known;
  const msg = open.get(room)?.list.byId.get(root) ?? (thread.value?.rootId === root ? thread.value.root.value : null);
  return !!msg && msg.author.id === meID();
}

// ---- read markers ----------------------------------------------------------------

/**
 * markRead advances the read marker of the room on screen once its newest
 * message is in view: the page is visible and scrolled to the bottom.
 */
export function markRead(): void {
  const id = current.value;
  if (id === null) return;
  const feed = feeds.get(id);
  const rs = open.get(id);
  const room = rooms.value.get(id);
  if (!feed || !rs?.list.loaded || !room?.member || !socket.live) return;
  if (!pageVisible() || !scroll.atBottom) return;
  const seq = feed.cursor;
  if (seq > feed.lastRead) socket.send({ type: "read", room: id, seq });
  readUpTo(feed, seq);
  if (feed.unread !== 0 || feed.mentions !== 0) {
    feed.unread = 0;
    feed.mentions = 0;
  }
  bumpCounts();
}

/** onRead is the echo of a read marker moved by another tab or device. */
function onRead(room: number, seq: number): void {
  const feed = feeds.get(room);
  if (!feed) return;
  const r = readUpTo(feed, seq);
  if (r === "clear") bumpCounts();
  else if (r === "partial") refreshUnreadSoon(); // only the server knows what is left
}

document.addEventListener("visibilitychange", () => {
  if (!pageVisible()) return;
  markRead();
  markThreadRead();
  active();
});
window.addEventListener("focus", () => markRead());

// ---- threads -------------------------------------------------------------------

export async function openThread(room: number, root: string): Promise<void> {
  const have = thread.value;
  if (have && have.room === room && have.rootId === root) return;
  const ts = new ThreadState(room, root);
  ts.list.base = feeds.get(room)?.cursor ?? 0;
  thread.value = ts;
  let data: { root: Message; messages: Message[] };
  try {
    data = await api<{ root: Message; messages: Message[] }>("GET", `rooms/${room}/threads/${encodeURIComponent(root)}?limit=${PAGE}`);
  } catch (err) {
    if (thread.value === ts) fail(err, (text) => (ts.error.value = text));
    return;
  }
  if (thread.value !== ts) return;
  ts.root.value = open.get(room)?.list.byId.get(root) ?? data.root;
  for (const m of data.messages) ts.list.put(m);
  ts.list.more = data.messages.length >= PAGE;
  ts.list.loaded = true;
  ts.bump();
  markThreadRead();
}

export function closeThread(route = true): void {
  const ts = thread.value;
  thread.value = null;
  if (route && ts) navigate(roomHash(ts.room));
}

export async function loadOlderReplies(): Promise<void> {
  const ts = thread.value;
  if (!ts || !ts.list.more) return;
  try {
    const data = await api<{ messages: Message[] }>(
      "GET",
      `rooms/${ts.room}/threads/${encodeURIComponent(ts.rootId)}?before=${ts.list.oldest}&limit=${PAGE}`,
    );
    if (thread.value !== ts) return;
    for (const m of data.messages) if (!ts.list.bySeq.has(m.seq)) ts.list.put(m);
    ts.list.more = data.messages.length >= PAGE;
    ts.bump();
  } catch (err) {
    fail(err, (text) => (ts.error.value = text));
  }
}

export async function toggleFollow(): Promise<void> {
  const ts = thread.value;
  if (!ts) return;
  const follow = !isFollowing(ts.room, ts.rootId);
  try {
    await api(follow ? "PUT" : "DELETE", `rooms/${ts.room}/threads/${encodeURIComponent(ts.rootId)}/follow`);
  } catch (err) {
    fail(err, (text) => (ts.error.value = text));
    return;
  }
  const k = threadKey(ts.room, ts.rootId);
  setFollowing(k, follow);
  if (!follow) setThreadUnread(k, 0);
  else markThreadRead();
}

/** markThreadRead moves the thread's marker to its newest reply while the panel shows it. */
export function markThreadRead(): void {
  const ts = thread.value;
  if (!ts || !ts.list.loaded || !pageVisible()) return;
  const k = threadKey(ts.room, ts.rootId);
  if (threadUnread.value.has(k)) setThreadUnread(k, 0);
  const last = ts.list.newest();
  if (last > ts.marked && isFollowing(ts.room, ts.rootId)) {
    ts.marked = last;
    api("PUT", `rooms/${ts.room}/threads/${encodeURIComponent(ts.rootId)}/read`, { seq: last }).catch((err: unknown) =>
      console.warn(err),
    );
  }
}

// ---- sending ---------------------------------------------------------------------

function showPending(): void {
  pending.value = [...outbox.entries.values()].filter((e) => !e.kind);
}

/** flushOutbox sends every entry not yet refused, in order (again after a reconnect). */
function flushOutbox(): void {
  if (!socket.live) return;
  const user = meID();
  for (const e of outbox.pending()) if (e.user === user) socket.send(frameOf(e));
}

function enqueue(e: OutboxEntry): void {
  void outbox.put(e);
  showPending();
  socket.send(frameOf(e));
}

/** send writes a message (a reply with thread): pending until its ack. */
export function send(room: number, body: string, threadRoot?: string): void {
  const user = meID();
  if (!user) return;
  // A message ends the typing notice where it arrives: typing again
  // announces itself at once.
  lastTyping.delete(room);
  const e: OutboxEntry = { client_id: newClientID(), user, room, body, at: new Date().toISOString() };
  if (threadRoot) {
    e.thread = threadRoot;
    // Replying follows the thread, unless it was unfollowed on purpose.
    const k = threadKey(room, threadRoot);
    if (!following.value.has(k)) setFollowing(k, true);
  }
  enqueue(e);
  if (!threadRoot) scroll.toBottom();
}

/** change sends an edit, a deletion or a reaction through the outbox. */
export function changeMessage(m: Message, kind: "edit" | "delete" | "react" | "unreact", arg?: string): void {
  const user = meID();
  if (!user || !m.id) return;
  const e: OutboxEntry = { client_id: newClientID(), user, room: m.room, kind, target: m.id, at: new Date().toISOString() };
  if (kind === "edit") e.body = arg ?? "";
  if (kind === "react" || kind === "unreact") e.emoji = arg;
  enqueue(e);
}

export function retry(clientID: string): void {
  const e = outbox.entries.get(clientID);
  if (!e) return;
  const again: OutboxEntry = { ...e, client_id: newClientID(), at: new Date().toISOString() };
  delete again.error;
  void outbox.remove(clientID);
  enqueue(again);
}

export function discard(clientID: string): void {
  void outbox.remove(clientID);
  showPending();
}

/** settle takes a send out of the outbox. */
function settle(clientID: string): OutboxEntry | undefined {
  const e = outbox.entries.get(clientID);
  if (!e) return undefined;
  void outbox.remove(clientID);
  showPending();
  return e;
}

function onAck(room: number, clientID: string, seq: number, id: string): void {
  const e = settle(clientID);
  const user = me.value;
  if (!e || e.kind || !user) return; // settled by the message itself, or a change the stream shows
  const m: Message = {
    room,
    seq,
    id,
    client_id: clientID,
    kind: "message",
    author: { id: user.id, name: user.name, avatar_url: user.avatar_url },
    body: e.body ?? "",
    created_at: e.at,
    provisional: true, // the stream brings the real one (time, mentions)
  };
  if (e.thread) {
    m.thread = e.thread;
    const ts = thread.value;
    if (ts && ts.room === room && ts.rootId === e.thread && ts.list.loaded && !ts.list.bySeq.has(seq) && seq > ts.list.base) {
      ts.list.put(m);
      ts.bump();
    }
    return;
  }
  const rs = open.get(room);
  if (!rs || !rs.list.loaded || seq <= rs.list.base || rs.list.bySeq.has(seq)) return;
  rs.list.put(m);
  rs.bump();
}

function onSendError(clientID: string, code: string, message: string): void {
  const e = outbox.entries.get(clientID);
  if (!e) return;
  if (code === "unavailable") {
    // Not stored, or not known to be: it stays in the outbox and goes again,
    // with the same client_id, on a new connection (a load balancer may give
    // it to another node).
    socket.drop(4000, "resend elsewhere");
    return;
  }
  // Refused for good (invalid, too large, not allowed): stop sending it.
  if (e.kind) {
    void outbox.remove(clientID);
    const text = message || code;
    if (thread.value?.room === e.room) thread.value.error.value = text;
    else showRoomError(text);
  } else {
    void outbox.put({ ...e, error: message || code });
  }
  showPending();
}

// ---- typing and presence -----------------------------------------------------------

/** typed tells the room we are typing, at most every TYPING_EVERY ms. */
export function typed(room: number | null | undefined): void {
  active();
  if (room === null || room === undefined || !socket.live) return;
  if (!rooms.value.get(room)?.member) return;
  const now = Date.now();
  if (now - (lastTyping.get(room) ?? 0) < TYPING_EVERY) return;
  lastTyping.set(room, now);
  socket.send({ type: "typing", room });
}

function onTyping(room: number, user: Author): void {
  if (!user || user.id === meID()) return;
  setTyping(room, user.id, user.name, Date.now() + TYPING_SHOW);
}

/** active notes input: online again if we were away, away after IDLE_AFTER without any. */
function active(): void {
  if (!me.value) return;
  clearTimeout(idleTimer);
  idleTimer = window.setTimeout(goAway, IDLE_AFTER);
  if (away.value) {
    away.value = false;
    socket.send({ type: "presence", state: "online" });
  }
}

function goAway(): void {
  if (away.value || !me.value) return;
  away.value = true;
  socket.send({ type: "presence", state: "away" });
}

for (const ev of ["pointerdown", "keydown"]) {
  window.addEventListener(ev, () => active(), { passive: true });
}

// A page left for another is kept by the browser (the back/forward cache)
// with its socket open, and would look online for ever: close the socket,
// and resume from the cursors when the page is shown again.
window.addEventListener("pagehide", (ev) => {
  if (!ev.persisted || !me.value) return;
  parked = true;
  socket.stop();
});
window.addEventListener("pageshow", (ev) => {
  if (!ev.persisted || !parked) return;
  parked = false;
  if (me.value) socket.start();
});

// Back online after sleep or a network change: try now rather than wait.
window.addEventListener("online", () => socket.now());
