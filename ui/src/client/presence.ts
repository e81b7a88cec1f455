// Typing and presence: what we tell the rooms.

import { setTyping, TYPING_SHOW } from "../state/presence";
import { rooms } from "../state/rooms";
import { away, me } from "../state/session";
import type { Author } from "../types";
import { meID } from "./common";
import { socket } from "./stream";

const TYPING_EVERY = 3000; // ms between two typing frames while typing
const IDLE_AFTER = 5 * 60 * 1000; // ms without input before "away"

let idleTimer = 0;
/** room id -> when its last typing frame went out */
export const lastTyping = new Map<number, number>();

export function stopIdle(): void {
  clearTimeout(idleTimer);
}

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

export function onTyping(room: number, user: Author): void {
  if (!user || user.id === meID()) return;
  setTyping(room, user.id, user.name, Date.now() + TYPING_SHOW);
}

/** active notes input: online again if we were away, away after IDLE_AFTER without any. */
export function active(): void {
  if (!me.value) return;
  clearTimeout(idleTimer);
  idleTimer = window.setTimeout(goAway, IDLE_AFTER);
  if (away.value) {
    away.value = false;
    socket.send({ type: "presence", state: "online" });
  }
}

export function goAway(): void {
  if (away.value || !me.value) return;
  away.value = true;
  socket.send({ type: "presence", state: "away" });
}

for (const ev of ["pointerdown", "keydown"]) {
  window.addEventListener(ev, () => active(), { passive: true });
}
