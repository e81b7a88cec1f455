// The rooms this user can see, their members, and the sidebar's order.

import { signal } from "@preact/signals";
import type { Author, Room } from "../types";

export const rooms = signal<ReadonlyMap<number, Room>>(new Map());
/** room id -> members in the server's order, for the rooms that were opened */
export const members = signal<ReadonlyMap<number, Author[]>>(new Map());
/** user id -> latest name and avatar, from members, authors and profile frames */
export const people = new Map<string, Author>();
/** bumped when a profile frame changed somebody's name or picture */
export const profiles = signal(0);

export function putRoom(r: Room): void {
  const next = new Map(rooms.value);
  next.set(r.id, r);
  rooms.value = next;
}

export function dropRoom(id: number): void {
  if (!rooms.value.has(id)) return;
  const next = new Map(rooms.value);
  next.delete(id);
  rooms.value = next;
}

export function setMembers(id: number, list: Author[]): void {
  const next = new Map(members.value);
  next.set(id, list);
  members.value = next;
}

export function isDirect(r: Room): boolean {
  return r.kind === "direct";
}

/** title is a direct room's other members, or the room's name. */
export function title(r: Room, list: Author[] | undefined, me: string | undefined): string {
  if (!isDirect(r) || !me || !list) return r.name;
  const others = list.filter((m) => m.id !== me).map((m) => m.name);
  return others.length > 0 ? others.join(", ") : r.name;
}

export interface TreeItem {
  room: Room;
  depth: number;
}

/**
 * tree orders the rooms for the sidebar: rooms by name, each followed by
 * the rooms created inside it (depth at most 6); direct rooms separately.
 */
export function tree(all: Iterable<Room>, collate: (a: string, b: string) => number = (a, b) => a.localeCompare(b)): {
  rooms: TreeItem[];
  directs: Room[];
} {
  const list = [...all];
  const ids = new Set(list.map((r) => r.id));
  const children = new Map<number, Room[]>();
  const tops: Room[] = [];
  const directs: Room[] = [];
  for (const r of list) {
    if (isDirect(r)) directs.push(r);
    else if (r.parent && ids.has(r.parent) && r.parent !== r.id) {
      const c = children.get(r.parent) ?? [];
      c.push(r);
      children.set(r.parent, c);
    } else tops.push(r);
  }
  const byName = (a: Room, b: Room) => collate(a.name, b.name) || a.id - b.id;
  const out: TreeItem[] = [];
  const seen = new Set<number>();
  const walk = (r: Room, depth: number) => {
    if (seen.has(r.id)) return;
    seen.add(r.id);
    out.push({ room: r, depth: Math.min(depth, 6) });
    for (const c of (children.get(r.id) ?? []).sort(byName)) walk(c, depth + 1);
  };
  for (const r of tops.sort(byName)) walk(r, 0);
  // A cycle of parents (impossible, but never lose a room): list what is left.
  for (const r of list) if (!isDirect(r) && !seen.has(r.id)) walk(r, 0);
  return { rooms: out, directs: directs.sort(byName) };
}

/** moderates: the creator of a room deletes anybody's messages (not in direct rooms). */
export function moderates(r: Room | undefined, me: string | undefined): boolean {
  return !!r && !!me && !isDirect(r) && r.created_by === me;
}
