// Mark unread: the read marker moved back to just before a message, by
// this page (PUT /rooms/{id}/unread) or by another tab or device (the read
// echo marked "unread"). A room on screen that was marked unread stays so
// (Slack does the same): markRead leaves it alone until the person leaves
// the room, posts in it, or marks it read on purpose.

import { api } from "../api";
import { t } from "../i18n";
import { lowerTo } from "../state/feed";
import { bumpCounts, feeds } from "../state/feeds";
import { announcement, current, open } from "../state/view";
import type { Message } from "../types";
import { meID } from "./common";
import { refreshUnreadSoon } from "./rooms";

/** rooms on screen marked unread: not to be marked read while they stay there */
const held = new Set<number>();

export function unreadHeld(room: number): boolean {
  return held.has(room);
}

/** releaseUnread ends the hold: the room was left, posted in, or read on purpose. */
export function releaseUnread(room: number | null): void {
  if (room !== null) held.delete(room);
}

/** markUnread makes m and everything after it unread (a top-level message of a member room). */
export async function markUnread(m: Message): Promise<void> {
  const { last_read } = await api<{ last_read: number }>("PUT", `rooms/${m.room}/unread`, { seq: m.seq });
  applyUnread(m.room, last_read);
  announcement.value = t("actions.markedUnread");
}

/** applyUnread takes a read marker moved back to seq. */
export function applyUnread(room: number, seq: number): void {
  const feed = feeds.get(room);
  if (!feed) return;
  const rs = open.get(room);
  if (room === current.value) {
    held.add(room);
    // The "new" line moves to the first message unread now.
    if (rs) rs.newAfter.value = seq;
  }
  lowerTo(feed, seq, rs?.list.bySeq.values() ?? [], meID());
  bumpCounts();
  refreshUnreadSoon(); // the exact counts, mentions in replies included
}
