// Presence and typing: ephemeral signals, never stored.

import { signal } from "@preact/signals";

export const TYPING_SHOW = 6000; // ms a typing notice stays up

/** user id -> "online" | "away" (absent: offline) */
export const presence = signal<ReadonlyMap<string, "online" | "away">>(new Map());
/** room id -> user id -> {name, until} */
export const typing = signal<ReadonlyMap<number, ReadonlyMap<string, { name: string; until: number }>>>(new Map());

export function setPresence(user: string, state: string): void {
  const next = new Map(presence.value);
  if (state === "online" || state === "away") next.set(user, state);
  else next.delete(user);
  presence.value = next;
}

export function setTyping(room: number, user: string, name: string, until: number): void {
  const next = new Map(typing.value);
  const r = new Map(next.get(room) ?? []);
  r.set(user, { name, until });
  next.set(room, r);
  typing.value = next;
}

export function stopTyping(room: number, user: string): void {
  const r = typing.value.get(room);
  if (!r?.has(user)) return;
  const next = new Map(typing.value);
  const m = new Map(r);
  m.delete(user);
  next.set(room, m);
  typing.value = next;
}

/** typers lists who types in room now. */
export function typers(room: number | null, now: number): string[] {
  if (room === null) return [];
  const r = typing.value.get(room);
  if (!r) return [];
  return [...r.values()].filter((x) => x.until > now).map((x) => x.name);
}

export function clearSignals(): void {
  presence.value = new Map();
  typing.value = new Map();
}
