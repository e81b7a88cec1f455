// Sending: every send goes through the outbox (IndexedDB) and stays there
// until its ack; a refused one is kept, failed, until retried or discarded.

import { newClientID } from "../ids";
import { frameOf, type OutboxEntry } from "../outbox";
import { following, setFollowing, threadKey } from "../state/feeds";
import { me } from "../state/session";
import { open, pending, thread } from "../state/view";
import type { Message } from "../types";
import { codeText, meID, outbox, scroll, showRoomError } from "./common";
import { lastTyping } from "./presence";
import { socket } from "./stream";
import { releaseUnread } from "./unread";

export function showPending(): void {
  pending.value = [...outbox.entries.values()].filter((e) => !e.kind);
}

/** flushOutbox sends every entry not yet refused, in order (again after a reconnect). */
export function flushOutbox(): void {
  if (!socket.live) return;
  const user = meID();
  for (const e of outbox.pending()) if (e.user === user) socket.send(frameOf(e));
}

export function enqueue(e: OutboxEntry): void {
  void outbox.put(e);
  showPending();
  socket.send(frameOf(e));
}

/** send writes a message (a reply with thread): pending until its ack. */
export function send(room: number, body: string, threadRoot?: string): void {
  const user = meID();
  if (!user) return;
  // A message ends the typing notice where it arrives: typing again
  // announces itself at once.
  lastTyping.delete(room);
  // Writing in a room marked unread reads it (Slack does the same).
  releaseUnread(room);
  const e: OutboxEntry = { client_id: newClientID(), user, room, body, at: new Date().toISOString() };
  if (threadRoot) {
    e.thread = threadRoot;
    // Replying follows the thread, unless it was unfollowed on purpose.
    const k = threadKey(room, threadRoot);
    if (!following.value.has(k)) setFollowing(k, true);
  }
  enqueue(e);
  if (!threadRoot) scroll.toBottom();
}

/** change sends an edit, a deletion or a reaction through the outbox. */
export function changeMessage(m: Message, kind: "edit" | "delete" | "react" | "unreact", arg?: string): void {
  const user = meID();
  if (!user || !m.id) return;
  const e: OutboxEntry = { client_id: newClientID(), user, room: m.room, kind, target: m.id, at: new Date().toISOString() };
  if (kind === "edit") e.body = arg ?? "";
  if (kind === "react" || kind === "unreact") e.emoji = arg;
  enqueue(e);
}

export function retry(clientID: string): void {
  const e = outbox.entries.get(clientID);
  if (!e) return;
  const again: OutboxEntry = { ...e, client_id: newClientID(), at: new Date().toISOString() };
  delete again.error;
  void outbox.remove(clientID);
  enqueue(again);
}

export function discard(clientID: string): void {
  void outbox.remove(clientID);
  showPending();
}

/** settle takes a send out of the outbox. */
export function settle(clientID: string): OutboxEntry | undefined {
  const e = outbox.entries.get(clientID);
  if (!e) return undefined;
  void outbox.remove(clientID);
  showPending();
  return e;
}

export function onAck(room: number, clientID: string, seq: number, id: string): void {
  const e = settle(clientID);
  const user = me.value;
  if (!e || e.kind || !user) return; // settled by the message itself, or a change the stream shows
  const m: Message = {
    room,
    seq,
    id,
    client_id: clientID,
    kind: "message",
    author: { id: user.id, name: user.name, avatar_url: user.avatar_url },
    body: e.body ?? "",
    created_at: e.at,
    provisional: true, // the stream brings the real one (time, mentions)
  };
  if (e.thread) {
    m.thread = e.thread;
    const ts = thread.value;
    if (ts && ts.room === room && ts.rootId === e.thread && ts.list.loaded && !ts.list.bySeq.has(seq) && seq > ts.list.base) {
      ts.list.put(m);
      ts.bump();
    }
    return;
  }
  const rs = open.get(room);
  if (!rs || !rs.list.loaded || seq <= rs.list.base || rs.list.bySeq.has(seq)) return;
  rs.list.put(m);
  rs.bump();
}

export function onSendError(clientID: string, code: string, message: string): void {
  const e = outbox.entries.get(clientID);
  if (!e) return;
  if (code === "unavailable") {
    // Not stored, or not known to be: it stays in the outbox and goes again,
    // with the same client_id, on a new connection (a load balancer may give
    // it to another node).
    socket.drop(4000, "resend elsewhere");
    return;
  }
  // Refused for good (invalid, too large, not allowed): stop sending it.
  if (e.kind) {
    void outbox.remove(clientID);
    const text = codeText(code, message);
    if (thread.value?.room === e.room) thread.value.error.value = text;
    else showRoomError(text);
  } else {
    void outbox.put({ ...e, error: codeText(code, message) });
  }
  showPending();
}
