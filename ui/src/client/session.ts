// Signing in and out, and the profile.

import { batch } from "@preact/signals";
import { api, unauthorized, upload } from "../api";
import { feeds, following, threadUnread } from "../state/feeds";
import { clearSignals } from "../state/presence";
import { members, people, rooms } from "../state/rooms";
import { away, booted, conn, me, notice, wasConnected } from "../state/session";
import { banner, current, currentRoom, open, pending, thread } from "../state/view";
import { browserTimeZone } from "../people";
import type { Room, UnreadCount, UnreadThread, User } from "../types";
import { life, meID, outbox } from "./common";
import { active, lastTyping, stopIdle } from "./presence";
import { applyRoute, syncFeeds } from "./rooms";
import { flushOutbox, showPending } from "./send";
import { socket } from "./stream";
import { drafts } from "../drafts";

/** start asks who we are, with the room list and counts fetched alongside. */
export async function start(): Promise<void> {
  const gen = life.gen;
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
    if (gen !== life.gen) return;
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
  if (gen !== life.gen) return;
  signedIn(user, Promise.all([roomsP, unreadP]));
}

export async function guestSignIn(name: string): Promise<void> {
  const data = await api<{ user: User }>("POST", "guests", { name });
  notice.value = "";
  signedIn(data.user);
}

export function signedIn(user: User, snapshot?: Promise<[{ rooms: Room[] }, { rooms: UnreadCount[]; threads: UnreadThread[] }]>): void {
  life.gen++;
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
  void syncTimeZone(user);
}

/**
 * syncTimeZone stores the browser's time zone in the profile when it is
 * not the one stored, so that others see the user's local time. A failure
 * is tried again at the next sign-in or page load.
 */
export async function syncTimeZone(user: User): Promise<void> {
  const tz = browserTimeZone();
  if (!tz || tz === (user.time_zone ?? "")) return;
  const gen = life.gen;
  try {
    const data = await api<{ user: User }>("PATCH", "me", { time_zone: tz });
    if (gen === life.gen && me.value?.id === data.user.id) me.value = { ...me.value, time_zone: data.user.time_zone };
  } catch {
    // offline, or a zone the server refuses: no local time for others
  }
}

export function signedOut(why: "" | "ended" | "everywhere"): void {
  life.gen++;
  socket.stop();
  stopIdle();
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
  if (user) drafts.clear(user); // the next person at this computer must not find them
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
