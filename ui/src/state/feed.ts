// A feed is a room this page receives over the socket: its resume cursor
// and the unread and mention counts the room list shows. The functions
// here are pure: they change a Feed and say what happened, the caller
// re-renders.

import type { Message, UnreadCount } from "../types";

export interface Feed {
  id: number;
  /** highest seq received from the stream: the resume cursor */
  cursor: number;
  /** highest seq the counts include */
  counted: number;
  lastRead: number;
  unread: number;
  mentions: number;
  /** the connection it is subscribed on (0: none yet) */
  socket: number;
}

export function newFeed(id: number, cursor: number, lastRead = cursor): Feed {
  return { id, cursor, counted: cursor, lastRead, unread: 0, mentions: 0, socket: 0 };
}

/** What a stream event's seq means for the feed's cursor. */
export type Arrival = "duplicate" | "next" | "gap";

/**
 * arrive moves the cursor past seq. The protocol promises every seq once,
 * in order; "gap" and "duplicate" are its violations (a duplicate changes
 * nothing, a gap moves the cursor and asks for a reload).
 */
export function arrive(feed: Feed, seq: number): Arrival {
  if (seq <= feed.cursor) return "duplicate";
  const gap = seq > feed.cursor + 1;
  feed.cursor = seq;
  return gap ? "gap" : "next";
}

/** subscribeFrom is the `after` of a (re)subscription. */
export function subscribeFrom(feed: Feed): number {
  return feed.cursor;
}

export function mentionsUser(m: Message, me: string | undefined): boolean {
  return !!me && (!!m.mentions_room || (m.mentions ?? []).includes(me));
}

/**
 * count adds a stream event to the counts as the server counts them
 * (docs/protocol.md, UnreadCount): top-level messages and room links by
 * others after the marker are unread; messages and replies by others that
 * mention you are mentions. It reports whether the counts changed.
 */
export function count(feed: Feed, m: Message, me: string | undefined): boolean {
  if (m.seq <= feed.counted) return false;
  feed.counted = m.seq;
  if (m.seq <= feed.lastRead || !me || m.author?.id === me) return false;
  const kind = m.kind ?? "message";
  let changed = false;
  if ((kind === "message" && !m.thread) || kind === "room") {
    feed.unread++;
    changed = true;
  }
  if (kind === "message" && mentionsUser(m, me)) {
    feed.mentions++;
    changed = true;
  }
  return changed;
}

/**
 * takeSnapshot applies the server's count (GET /unread) unless the stream
 * or a read marker here is already newer. Reports whether anything changed.
 */
export function takeSnapshot(feed: Feed, u: UnreadCount): boolean {
  const before = `${feed.unread}/${feed.mentions}`;
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
  return before !== `${feed.unread}/${feed.mentions}`;
}

/**
 * readUpTo moves the read marker to seq (our own read, or the echo of
 * another tab's). Returns "none" when it changes nothing, "clear" when
 * everything counted is read, "partial" when only the server knows what is
 * left (the caller asks it).
 */
export function readUpTo(feed: Feed, seq: number): "none" | "clear" | "partial" {
  if (seq <= feed.lastRead) return "none";
  feed.lastRead = seq;
  if (seq >= feed.counted) {
    feed.unread = 0;
    feed.mentions = 0;
    return "clear";
  }
  return "partial";
}

/**
 * lowerTo moves the read marker back to seq (mark unread, here or in
 * another tab) and counts again from what is known: the room's loaded
 * top-level messages. The counts are a first guess until the server's
 * (GET /unread, which takeSnapshot then applies: its marker is no longer
 * behind ours); replies that mention you are only counted there.
 */
export function lowerTo(feed: Feed, seq: number, known: Iterable<Message>, me: string | undefined): void {
  feed.lastRead = seq;
  let unread = 0;
  let mentions = 0;
  for (const m of known) {
    if (m.seq <= seq || m.seq > feed.counted || m.deleted || !me || m.author?.id === me) continue;
    const kind = m.kind ?? "message";
    if ((kind === "message" && !m.thread) || kind === "room") unread++;
    if (kind === "message" && mentionsUser(m, me)) mentions++;
  }
  feed.unread = unread;
  feed.mentions = mentions;
}
