// The room list and the feeds (the snapshot taken on every connect), the
// actions on rooms, the route, the room on screen and its read marker.

import { batch, effect } from "@preact/signals";
import { api, APIError, unauthorized } from "../api";
import { t } from "../i18n";
import { parseRoute, roomHash } from "../route";
import { readUpTo, takeSnapshot } from "../state/feed";
import { bumpCounts, ensureFeed, feeds, following, threadKey, threadUnread } from "../state/feeds";
import { applyToRoom } from "../state/fold";
import { dropRoom, members, people, putRoom, rooms, setMembers } from "../state/rooms";
import { me } from "../state/session";
import { banner, current, currentRoom, open, RoomState, thread } from "../state/view";
import type { Author, Message, Room, UnreadCount, UnreadThread } from "../types";
import { fail, life, meID, PAGE, pageVisible, scroll, showRoomError } from "./common";
import { active } from "./presence";
import { signedOut } from "./session";
import { socket } from "./stream";
import { openMessage, openUnlisted } from "./permalinks";
import { closeThread, markThreadRead, openThread } from "./threads";
import { applyUnread, releaseUnread, unreadHeld } from "./unread";

type Snapshot = [{ rooms: Room[] }, { rooms: UnreadCount[]; threads: UnreadThread[] }];

/**
 * syncFeeds takes the snapshot (GET /rooms and /unread, in parallel):
 * the room list, the counts, and a feed for every member room; feeds of
 * rooms no longer visible go.
 */
export async function syncFeeds(snapshot?: Promise<Snapshot>): Promise<void> {
  const gen = life.gen;
  let data: Snapshot;
  try {
    data = await (snapshot ??
      Promise.all([
        api<{ rooms: Room[] }>("GET", "rooms"),
        api<{ rooms: UnreadCount[]; threads: UnreadThread[] }>("GET", "unread"),
      ]));
  } catch (err) {
    if (gen === life.gen && unauthorized(err)) signedOut("ended");
    return; // offline: the next connect takes the snapshot
  }
  if (gen !== life.gen) return;
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

export function takeUnread(data: { rooms: UnreadCount[]; threads: UnreadThread[] }): void {
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
export function refreshUnreadSoon(): void {
  clearTimeout(unreadSoon);
  unreadSoon = window.setTimeout(async () => {
    const gen = life.gen;
    try {
      const data = await api<{ rooms: UnreadCount[]; threads: UnreadThread[] }>("GET", "unread");
      if (gen === life.gen) takeUnread(data);
    } catch {
      // the next connect takes the snapshot
    }
  }, 300);
}

/** subscribeFeeds subscribes every feed not yet subscribed on this connection, from its cursor. */
export function subscribeFeeds(): void {
  const c = socket.connection;
  if (!c) return;
  for (const f of feeds.values()) {
    if (f.socket === c) continue;
    f.socket = c;
    socket.send({ type: "subscribe", room: f.id, after: f.cursor });
  }
}

/** roomSeen puts a room on the list with a feed when we are in it. */
export function roomSeen(r: Room): void {
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
  if (r.room !== null && r.message !== null && !rooms.value.has(r.room)) {
    void openUnlisted(r.room, r.thread, r.message);
    return;
  }
  if (r.room === null || !rooms.value.has(r.room)) {
    if (r.room === null && current.value !== null) unselect();
    return;
  }
  if (r.message !== null) {
    void openMessage(r.room, r.thread, r.message);
    return;
  }
  if (r.room !== current.value) void selectRoom(r.room);
  if (r.thread) void openThread(r.room, r.thread);
  else if (thread.value) closeThread(false);
}

window.addEventListener("hashchange", () => applyRoute());

export function unselect(): void {
  releaseUnread(current.value);
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
  const feed = feeds.get(id);
  // Where the unread messages start, as it was when the room was opened.
  if (current.value !== id) releaseUnread(current.value);
  if (current.value !== id) rs.newAfter.value = feed && feed.unread > 0 ? feed.lastRead : -1;
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

export function closeRoom(id: number): void {
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
export async function loadNewest(rs: RoomState): Promise<void> {
  if (rs.loading) return;
  rs.loading = true;
  const gen = life.gen;
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
    if (gen === life.gen) fail(err, (text) => (rs.error.value = text));
    return;
  }
  if (gen !== life.gen || open.get(rs.id) !== rs) return;
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

/** loadOlder reads the page before the oldest message loaded of the room on screen. */
export async function loadOlder(): Promise<void> {
  const rs = currentRoom.value;
  // The further back the reader goes, the bigger the pages (up to the API's 1000).
  if (rs) await loadOlderOf(rs, Math.min(MAX_PAGE, Math.max(PAGE, rs.list.bySeq.size)));
}

export const MAX_PAGE = 1000; // the most messages a history request answers
const olderLoads = new WeakMap<RoomState, Promise<boolean>>();

/** loadOlderOf reads up to limit messages before the oldest loaded (one request at a time); false on an error. */
function loadOlderOf(rs: RoomState, limit: number): Promise<boolean> {
  const running = olderLoads.get(rs);
  if (running) return running;
  if (!rs.list.loaded || !rs.list.more) return Promise.resolve(true);
  const load = (async () => {
    rs.loadingOlder = true;
    try {
      const data = await api<{ messages: Message[] }>("GET", `rooms/${rs.id}/history?before=${rs.list.oldest}&limit=${limit}`);
      if (open.get(rs.id) !== rs) return false;
      for (const m of data.messages) {
        if (rs.list.bySeq.has(m.seq)) continue;
        rs.list.put(m);
        people.set(m.author.id, m.author);
      }
      rs.list.more = data.messages.length >= limit;
      rs.bump();
      return true;
    } catch (err) {
      fail(err, (text) => (rs.error.value = text));
      return false;
    } finally {
      rs.loadingOlder = false;
      olderLoads.delete(rs);
    }
  })();
  olderLoads.set(rs, load);
  return load;
}

/**
 * loadUntil pages the room's history back until the message of seq is
 * loaded (or there is nothing older): one request where it can, since a
 * page counts messages and seqs count every event. False on an error.
 */
export async function loadUntil(rs: RoomState, seq: number): Promise<boolean> {
  await whenLoaded(rs, () => open.get(rs.id) !== rs);
  while (open.get(rs.id) === rs && rs.list.loaded && rs.list.more && rs.list.oldest > seq) {
    const limit = Math.min(MAX_PAGE, Math.max(PAGE, rs.list.oldest - seq + PAGE));
    if (!(await loadOlderOf(rs, limit))) return false;
  }
  return open.get(rs.id) === rs && rs.list.loaded;
}

/** whenLoaded resolves once a room's newest page (a thread's) is loaded, failed to load, or is no longer shown. */
export function whenLoaded(v: { rev: { value: number }; list: { loaded: boolean }; error: { value: string } }, gone: () => boolean = () => false): Promise<void> {
  return new Promise((resolve) => {
    const stop = effect(() => {
      v.rev.value;
      if (v.list.loaded || v.error.value || gone()) {
        queueMicrotask(() => stop());
        resolve();
      }
    });
  });
}

/** reloadRoom forgets an opened room's history and loads it again. */
export function reloadRoom(id: number): void {
  if (!open.has(id)) return;
  const rs = new RoomState(id);
  open.set(id, rs);
  if (current.value === id) currentRoom.value = rs;
  void loadNewest(rs);
}

/**
 * markRead advances the read marker of the room on screen once its newest
 * message is in view: the page is visible and scrolled to the bottom. A
 * room marked unread stays so while it is on screen (./unread.ts), unless
 * explicit: the person asks for it to be read (Escape).
 */
export function markRead(explicit = false): void {
  const id = current.value;
  if (id === null) return;
  if (explicit) releaseUnread(id);
  else if (unreadHeld(id)) return;
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

/**
 * onRead is the echo of a read marker moved by another tab or device;
 * unread: it moved back (mark unread), to be taken as it is.
 */
export function onRead(room: number, seq: number, unread?: boolean): void {
  if (unread) return applyUnread(room, seq);
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

// ---- keys (F): marking a room read at once, by Escape ----

/**
 * markRoomRead marks every message of a member room read, wherever the
 * view is scrolled (markRead waits for the bottom): the read marker goes
 * to the newest seq received, the counts to 0, and the "new" line of the
 * room on screen goes. Reports whether there was anything to mark.
 */
export function markRoomRead(id: number): boolean {
  releaseUnread(id); // read on purpose: a "mark unread" hold ends
  const feed = feeds.get(id);
  const room = rooms.value.get(id);
  if (!feed || !room?.member) return false;
  const rs = open.get(id);
  const seq = Math.max(feed.cursor, feed.lastRead);
  const had = feed.unread > 0 || feed.mentions > 0 || seq > feed.lastRead || (rs ? rs.newAfter.value >= 0 : false);
  if (seq > feed.lastRead) {
    if (socket.live) socket.send({ type: "read", room: id, seq });
    else void api("PUT", `rooms/${id}/read`, { seq }).catch(() => {}); // offline: the next read marker carries it
  }
  readUpTo(feed, seq);
  feed.unread = 0;
  feed.mentions = 0;
  if (rs) rs.newAfter.value = -1;
  bumpCounts();
  return had;
}
