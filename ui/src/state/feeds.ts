// Every room this page receives (a member room, or one only looked at),
// with its cursor and counts (feed.ts), and the followed threads' unread
// replies. The maps are changed in place; `counts` bumps when what the
// sidebar shows changed.

import { signal } from "@preact/signals";
import { newFeed, type Feed } from "./feed";

export const feeds = new Map<number, Feed>();
/** bumped whenever a feed's unread or mention count changed */
export const counts = signal(0);

export function ensureFeed(id: number, cursor: number, lastRead = cursor): Feed {
  let f = feeds.get(id);
  if (!f) {
    f = newFeed(id, cursor, lastRead);
    feeds.set(id, f);
  }
  return f;
}

export function bumpCounts(): void {
  counts.value++;
}

export const threadKey = (room: number, root: string): string => `${room}:${root}`;

/** "room:root" -> unread replies of a followed thread */
export const threadUnread = signal<ReadonlyMap<string, number>>(new Map());
/** "room:root" -> whether this user follows it, where this page knows */
export const following = signal<ReadonlyMap<string, boolean>>(new Map());

export function setThreadUnread(k: string, n: number): void {
  const next = new Map(threadUnread.value);
  if (n > 0) next.set(k, n);
  else next.delete(k);
  threadUnread.value = next;
}

export function setFollowing(k: string, on: boolean): void {
  const next = new Map(following.value);
  next.set(k, on);
  following.value = next;
}
