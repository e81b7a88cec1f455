// Permalinks followed: #/rooms/3/messages/<id> (a reply's:
// #/rooms/3/threads/<root>/messages/<id>) opens the room, or the thread,
// pages the history back to the message and has the list show it (see
// state/reading.ts); the list scrolls it into view, focuses and marks it.

import { api, APIError } from "../api";
import { t } from "../i18n";
import { roomHash } from "../route";
import { goTo } from "../state/reading";
import { putRoom } from "../state/rooms";
import { current, open, thread } from "../state/view";
import type { Message, Room } from "../types";
import { fail, PAGE, showRoomError } from "./common";
import { loadUntil, MAX_PAGE, selectRoom, whenLoaded } from "./rooms";
import { closeThread, loadOlderReplies, openThread } from "./threads";

let opening = 0;

/**
 * openMessage follows a permalink: it opens the room (and for a reply
 * the thread), asks for the message to learn its seq, pages the history
 * back to it and asks the list to show it. The address becomes the
 * room's (the thread's) again at once: the link is followed once, and a
 * reconnect does not follow it again. A message that is gone, or never
 * was, is said so over the room.
 */
export async function openMessage(room: number, root: string | null, id: string): Promise<void> {
  const n = ++opening;
  history.replaceState(history.state, "", location.pathname + location.search + roomHash(room, root));
  if (current.value !== room) await selectRoom(room);
  const rs = open.get(room);
  if (!rs || n !== opening) return;
  rs.error.value = "";
  const show = (text: string) => {
    if (current.value === room) rs.error.value = text;
  };
  let m: Message;
  try {
    m = (await api<{ message: Message }>("GET", `rooms/${room}/messages/${encodeURIComponent(id)}`)).message;
  } catch (err) {
    if (n !== opening) return;
    if (err instanceof APIError && err.status === 404) show(t("reading.notFound"));
    else fail(err, show);
    return;
  }
  if (n !== opening || current.value !== room) return;
  if (m.thread) {
    // A reply: the thread opens with it in view; its root is shown in the room when loaded.
    history.replaceState(history.state, "", location.pathname + location.search + roomHash(room, m.thread));
    await openThread(room, m.thread);
    const ts = thread.value;
    if (n !== opening || !ts || ts.rootId !== m.thread) return;
    await whenLoaded(ts, () => thread.value !== ts);
    while (ts.list.more && ts.list.oldest > m.seq && thread.value === ts) {
      if (!(await loadOlderReplies(Math.min(MAX_PAGE, Math.max(PAGE, ts.list.oldest - m.seq + PAGE))))) return;
    }
    if (n === opening) goTo("thread-messages", m.id ?? id);
    return;
  }
  if (thread.value) closeThread(false);
  if (!(await loadUntil(rs, m.seq)) || n !== opening) return;
  goTo("messages", m.id ?? id);
}

/** openUnlisted follows a permalink into a room not on the list (a public room one is not in): asked for first. */
export async function openUnlisted(room: number, root: string | null, id: string): Promise<void> {
  try {
    const data = await api<{ room: Room }>("GET", `rooms/${room}`);
    putRoom(data.room);
  } catch (err) {
    history.replaceState(history.state, "", location.pathname + location.search);
    if (err instanceof APIError && err.status === 404) showRoomError(t("reading.notFound"));
    else fail(err, showRoomError);
    return;
  }
  await openMessage(room, root, id);
}
