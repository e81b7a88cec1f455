// Folding stream events into messages. A room view holds its top-level
// messages (and room links) with every change applied; a thread view its
// root and replies. Events up to `base` (the room's last seq when the
// history was read) are already in the history; the others may arrive
// twice (after a reload), so each change is harmless the second time.
// Messages are never changed in place: a change makes a new object, so
// a view can tell what changed by identity.

import type { Message } from "../types";

/** timeKey makes an RFC 3339 UTC time comparable as a string. */
export function timeKey(iso: string | undefined): string {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(iso ?? "");
  if (!m) return iso ?? "";
  return `${m[1]}.${(m[2] ?? "").padEnd(9, "0")}Z`;
}

/** change applies an edit, delete, react or unreact; null when it changes nothing. */
export function change(msg: Message, ev: Message, me: string | undefined): Message | null {
  switch (ev.kind) {
    case "edit":
      if (msg.deleted) return null;
      return { ...msg, body: ev.body, edited_at: ev.created_at };
    case "delete":
      if (msg.deleted) return null;
      return { ...msg, deleted: true, body: "", reactions: [], mentions: [], mentions_room: false };
    case "react": {
      if (msg.deleted || !ev.emoji) return null;
      const reactions = [...(msg.reactions ?? [])];
      const i = reactions.findIndex((r) => r.emoji === ev.emoji);
      const r = i >= 0 ? reactions[i]! : { emoji: ev.emoji, count: 0, users: [], mine: false };
      if (r.users.includes(ev.author.id)) return null;
      const next = { ...r, count: r.count + 1, users: [...r.users, ev.author.id], mine: r.mine || ev.author.id === me };
      if (i >= 0) reactions[i] = next;
      else reactions.push(next);
      return { ...msg, reactions };
    }
    case "unreact": {
      const reactions = [...(msg.reactions ?? [])];
      const i = reactions.findIndex((r) => r.emoji === ev.emoji);
      if (i < 0) return null;
      const r = reactions[i]!;
      if (!r.users.includes(ev.author.id)) return null;
      const users = r.users.filter((u) => u !== ev.author.id);
      if (users.length === 0) reactions.splice(i, 1);
      else reactions[i] = { ...r, count: r.count - 1, users, mine: ev.author.id === me ? false : r.mine };
      return { ...msg, reactions };
    }
  }
  return null;
}

/** addReply counts a reply on its root; null when it was counted already. */
export function addReply(root: Message, reply: Message): Message | null {
  const at = reply.created_at ?? "";
  if (root.last_reply_at && timeKey(at) <= timeKey(root.last_reply_at)) return null;
  return { ...root, replies: (root.replies ?? 0) + 1, last_reply_at: at };
}

/** A list of messages by seq, with an index by id. */
export class MessageList {
  readonly bySeq = new Map<number, Message>();
  readonly byId = new Map<string, Message>();
  /** events up to this seq are in what was loaded */
  base = 0;
  /** lowest seq loaded (0: none) */
  oldest = 0;
  /** older pages exist */
  more = false;
  loaded = false;

  put(m: Message): void {
    const have = this.bySeq.get(m.seq);
    if (have?.id) this.byId.delete(have.id);
    this.bySeq.set(m.seq, m);
    if (m.id) this.byId.set(m.id, m);
    if (this.oldest === 0 || m.seq < this.oldest) this.oldest = m.seq;
  }

  /** replace swaps a message for its changed copy. */
  replace(m: Message): void {
    if (this.bySeq.get(m.seq)?.id === m.id) this.bySeq.set(m.seq, m);
    if (m.id) this.byId.set(m.id, m);
  }

  /** sorted is the messages in seq order. */
  sorted(): Message[] {
    return [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  /** newest is the highest seq held, 0 when empty. */
  newest(): number {
    let n = 0;
    for (const s of this.bySeq.keys()) if (s > n) n = s;
    return n;
  }
}

/**
 * applyToRoom applies a stream event to a room's top-level messages and
 * reports whether the list changed. A reply counts on its root; a change
 * applies to its target.
 */
export function applyToRoom(list: MessageList, ev: Message, me: string | undefined): boolean {
  if (ev.seq <= list.base) return false;
  const kind = ev.kind ?? "message";
  if ((kind === "message" && !ev.thread) || kind === "room") {
    const have = list.bySeq.get(ev.seq);
    if (have && !have.provisional) return false;
    list.put(have?.provisional ? { ...ev, reactions: have.reactions } : ev);
    return true;
  }
  if (kind === "message") {
    const root = list.byId.get(ev.thread ?? "");
    if (!root) return false; // a thread of a message not loaded
    const next = addReply(root, ev);
    if (next) list.replace(next);
    return !!next;
  }
  const target = list.byId.get(ev.target ?? "");
  if (!target) return false;
  const next = change(target, ev, me);
  if (next) list.replace(next);
  return !!next;
}

/**
 * applyToThread applies a stream event to a thread (its root in `root`,
 * its replies in list); returns the new root when it changed, and whether
 * the replies changed.
 */
export function applyToThread(
  list: MessageList,
  root: Message | null,
  rootId: string,
  ev: Message,
  me: string | undefined,
): { root: Message | null; replies: boolean } {
  const none = { root, replies: false };
  if (!list.loaded || ev.seq <= list.base) return none;
  const kind = ev.kind ?? "message";
  if (kind === "message" && ev.thread === rootId) {
    const have = list.bySeq.get(ev.seq);
    if (have && !have.provisional) return none;
    list.put(ev);
    return { root, replies: true };
  }
  if (ev.target === rootId && root) {
    return { root: change(root, ev, me) ?? root, replies: false };
  }
  const target = list.byId.get(ev.target ?? "");
  if (!target) return none;
  const next = change(target, ev, me);
  if (next) list.replace(next);
  return { root, replies: !!next };
}
