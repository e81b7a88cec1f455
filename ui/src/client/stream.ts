// The socket, and what each frame the server sends does to the state.

import { batch } from "@preact/signals";
import { api, unauthorized, wsURL } from "../api";
import { t } from "../i18n";
import { parseRoute } from "../route";
import { debug, Socket } from "../socket";
import { arrive, count } from "../state/feed";
import { bumpCounts, feeds, setThreadUnread, threadKey, threadUnread } from "../state/feeds";
import { applyToRoom } from "../state/fold";
import { clearSignals, setPresence, stopTyping } from "../state/presence";
import { dropRoom, members, people, profiles, putRoom, rooms, setMembers } from "../state/rooms";
import { away, conn, me, wasConnected } from "../state/session";
import { announcement, current, open, thread } from "../state/view";
import type { Author, Message, Room, ServerFrame } from "../types";
import { codeText, life, meID, pageVisible, showRoomError } from "./common";
import { goAway, onTyping } from "./presence";
import { closeRoom, loadMembers, markRead, navigate, onRead, refreshUnreadSoon, reloadRoom, roomSeen, subscribeFeeds, syncFeeds } from "./rooms";
import { flushOutbox, onAck, onSendError, settle } from "./send";
import { signedOut } from "./session";
import { applyThread, isFollowing, markThreadRead } from "./threads";

let parked = false;

export const socket = new Socket(() => wsURL(), {
  open: () => onOpen(),
  frame: (f) => onFrame(f),
  close: (code, opened) => onClose(code, opened),
});

(window as unknown as { hanashiDebug: typeof debug }).hanashiDebug = debug;
debug.idle = () => goAway();
debug.feeds = () => [...feeds.values()].map((f) => ({ ...f }));

export function onOpen(): void {
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

export function onClose(code: number, opened: boolean): void {
  const gen = life.gen;
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
      () => gen === life.gen && socket.later(),
      (err: unknown) => {
        if (gen !== life.gen) return;
        if (unauthorized(err)) signedOut("ended");
        else socket.later();
      },
    );
    return;
  }
  // 1008 (policy) must not be retried blindly: wait the longest delay.
  socket.later(code === 1008);
}

export function onFrame(f: ServerFrame): void {
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
      onRead(f.room, f.seq, f.unread);
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
      else if (f.room !== undefined && f.room === current.value) showRoomError(codeText(f.code, f.message));
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

export function onRoomFrame(r: Room): void {
  const had = rooms.value.get(r.id);
  putRoom(r);
  if (r.member && had?.member && feeds.has(r.id)) {
    // A change to a room one is in (its topic): nothing read.
    return;
  } else if (r.member) {
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

export function onRoomGone(id: number): void {
  closeRoom(id);
  dropRoom(id);
  bumpCounts();
  if (parseRoute(location.hash).room === id) navigate("");
}

export function onProfile(u: Author): void {
  people.set(u.id, { ...people.get(u.id), ...u });
  profiles.value++;
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

export function onMember(room: number, user: Author, member: boolean): void {
  people.set(user.id, { ...people.get(user.id), ...user });
  const list = members.value.get(room);
  if (!list) return;
  const without = list.filter((m) => m.id !== user.id);
  setMembers(room, member ? [...without, user].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) : without);
}

/** onStreamEvent takes one event of a subscribed room. */
export function onStreamEvent(m: Message): void {
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
    if (!ts.list.loaded) ts.buffer.push(m);
    else if (applyThread(ts, m, user)) markThreadRead();
  }
  if (m.room === current.value && kind === "message" && m.author && m.author.id !== user) {
    if (!m.thread || (ts && ts.rootId === m.thread)) announce(m);
    // Somebody we do not know yet writes: they joined.
    const list = members.value.get(m.room);
    if (list && !list.some((x) => x.id === m.author.id)) void loadMembers(m.room);
  }
  if (m.room === current.value) markRead();
}

export function announce(m: Message): void {
  const body = m.body.length > 140 ? m.body.slice(0, 140) + "…" : m.body;
  announcement.value = t("announce.message", { name: m.author.name, body });
}

export function countThreadReply(m: Message): void {
  const root = m.thread!;
  const ts = thread.value;
  const showing = ts && ts.room === m.room && ts.rootId === root && pageVisible();
  if (showing || !isFollowing(m.room, root)) return;
  const k = threadKey(m.room, root);
  setThreadUnread(k, (threadUnread.value.get(k) ?? 0) + 1);
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
// Offline (the network went away): a socket that was open may never hear
// of it (its frames just stop), so close it now; sends wait in the outbox.
// (From the browser-test helper's f4bd0a2, on app.ts before the split.)
window.addEventListener("offline", () => socket.drop(4000, "offline"));
