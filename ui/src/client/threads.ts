// The thread panel: opening, paging, following, its read marker.

import { api } from "../api";
import { roomHash } from "../route";
import { feeds, following, setFollowing, setThreadUnread, threadKey, threadUnread } from "../state/feeds";
import { open, thread, ThreadState } from "../state/view";
import { applyToThread } from "../state/fold";
import type { Message } from "../types";
import { fail, meID, PAGE, pageVisible } from "./common";
import { navigate } from "./rooms";

export async function openThread(room: number, root: string): Promise<void> {
  const have = thread.value;
  if (have && have.room === room && have.rootId === root) return;
  const ts = new ThreadState(room, root);
  ts.list.base = feeds.get(room)?.cursor ?? 0;
  thread.value = ts;
  let data: { root: Message; messages: Message[] };
  try {
    data = await api<{ root: Message; messages: Message[] }>("GET", `rooms/${room}/threads/${encodeURIComponent(root)}?limit=${PAGE}`);
  } catch (err) {
    if (thread.value === ts) fail(err, (text) => (ts.error.value = text));
    return;
  }
  if (thread.value !== ts) return;
  ts.root.value = open.get(room)?.list.byId.get(root) ?? data.root;
  for (const m of data.messages) ts.list.put(m);
  ts.list.more = data.messages.length >= PAGE;
  ts.list.loaded = true;
  const buffered = ts.buffer;
  ts.buffer = [];
  for (const m of buffered) applyThread(ts, m, meID());
  ts.bump();
  markThreadRead();
}

export function closeThread(route = true): void {
  const ts = thread.value;
  // The keyboard was in the panel that goes: it moves to the room's composer.
  const inPanel = !!document.activeElement?.closest("#thread");
  thread.value = null;
  if (route && ts) navigate(roomHash(ts.room));
  if (!inPanel) return;
  // (not on a touch screen, where focusing the composer would open the keyboard)
  const fine = typeof matchMedia === "function" && matchMedia("(pointer: fine)").matches;
  document.getElementById(fine ? "composer" : "main")?.focus();
}

/** loadOlderReplies reads the page of replies before the oldest loaded; false on an error. */
export async function loadOlderReplies(limit = PAGE): Promise<boolean> {
  const ts = thread.value;
  if (!ts || !ts.list.more) return true;
  try {
    const data = await api<{ messages: Message[] }>(
      "GET",
      `rooms/${ts.room}/threads/${encodeURIComponent(ts.rootId)}?before=${ts.list.oldest}&limit=${limit}`,
    );
    if (thread.value !== ts) return false;
    for (const m of data.messages) if (!ts.list.bySeq.has(m.seq)) ts.list.put(m);
    ts.list.more = data.messages.length >= limit;
    ts.bump();
    return true;
  } catch (err) {
    fail(err, (text) => (ts.error.value = text));
    return false;
  }
}

export async function toggleFollow(): Promise<void> {
  const ts = thread.value;
  if (!ts) return;
  const follow = !isFollowing(ts.room, ts.rootId);
  try {
    await api(follow ? "PUT" : "DELETE", `rooms/${ts.room}/threads/${encodeURIComponent(ts.rootId)}/follow`);
  } catch (err) {
    fail(err, (text) => (ts.error.value = text));
    return;
  }
  const k = threadKey(ts.room, ts.rootId);
  setFollowing(k, follow);
  if (!follow) setThreadUnread(k, 0);
  else markThreadRead();
}

/** markThreadRead moves the thread's marker to its newest reply while the panel shows it. */
export function markThreadRead(): void {
  const ts = thread.value;
  if (!ts || !ts.list.loaded || !pageVisible()) return;
  const k = threadKey(ts.room, ts.rootId);
  if (threadUnread.value.has(k)) setThreadUnread(k, 0);
  const last = ts.list.newest();
  if (last > ts.marked && isFollowing(ts.room, ts.rootId)) {
    ts.marked = last;
    api("PUT", `rooms/${ts.room}/threads/${encodeURIComponent(ts.rootId)}/read`, { seq: last }).catch((err: unknown) =>
      console.warn(err),
    );
  }
}

export function isFollowing(room: number, root: string): boolean {
  const k = threadKey(room, root);
  const known = following.value.get(k);
  if (known !== undefined) return known;
  const msg = open.get(room)?.list.byId.get(root) ?? (thread.value?.rootId === root ? thread.value.root.value : null);
  return !!msg && msg.author.id === meID();
}

/** applyThread applies a stream event to the open thread; reports whether its replies changed. */
export function applyThread(ts: ThreadState, m: Message, user: string | undefined): boolean {
  const res = applyToThread(ts.list, ts.root.value, ts.rootId, m, user);
  if (res.root !== ts.root.value) ts.root.value = res.root;
  if (res.replies) ts.bump();
  return res.replies;
}
