// The outbox: every send (a message, a reply, an edit, a deletion, a
// reaction) is kept in IndexedDB under its client id from the moment it is
// made until the server acknowledges it (or refuses it for good), so a send
// made offline survives a reload and goes out once the socket is back. The
// server deduplicates by client id, so sending an entry twice is harmless.

import { openDB, type IDBPDatabase } from "idb";
import type { SendFrame } from "./types";

export interface OutboxEntry {
  client_id: string;
  /** the user who wrote it: a page signed in as somebody else never sends it */
  user: string;
  room: number;
  body?: string;
  thread?: string;
  kind?: "edit" | "delete" | "react" | "unreact";
  target?: string;
  emoji?: string;
  /** when it was written (ISO time), shown until the server's time is known */
  at: string;
  /** set when the server refused it for good */
  error?: string;
}

const DB = "hanashi";
const STORE = "outbox";

export function frameOf(e: OutboxEntry): SendFrame {
  const f: SendFrame = { type: "send", room: e.room, client_id: e.client_id };
  if (e.body !== undefined) f.body = e.body;
  if (e.thread) f.thread = e.thread;
  if (e.kind) f.kind = e.kind;
  if (e.target) f.target = e.target;
  if (e.emoji) f.emoji = e.emoji;
  return f;
}

/**
 * Outbox keeps the entries in memory, in the order they were made, and
 * mirrors them to IndexedDB when the browser has it (a private window may
 * not: then they live as long as the page).
 */
export class Outbox {
  private db: Promise<IDBPDatabase | null>;
  readonly entries = new Map<string, OutboxEntry>();

  constructor(name = DB) {
    this.db = openDB(name, 1, {
      upgrade(db) {
        const s = db.createObjectStore(STORE, { keyPath: "client_id" });
        s.createIndex("user", "user");
      },
    }).catch(() => null);
  }

  /** load reads the entries user left behind (a reload, a crash), oldest first. */
  async load(user: string): Promise<OutboxEntry[]> {
    const db = await this.db;
    if (!db) return [];
    let stored: OutboxEntry[] = [];
    try {
      stored = (await db.getAllFromIndex(STORE, "user", user)) as OutboxEntry[];
    } catch {
      return [];
    }
    // client ids start with the time: their order is the order of writing
    stored.sort((a, b) => (a.client_id < b.client_id ? -1 : a.client_id > b.client_id ? 1 : 0));
    for (const e of stored) if (!this.entries.has(e.client_id)) this.entries.set(e.client_id, e);
    return stored;
  }

  async put(e: OutboxEntry): Promise<void> {
    this.entries.set(e.client_id, e);
    const db = await this.db;
    try {
      await db?.put(STORE, e);
    } catch {
      // quota or a closed database: the entry still lives in memory
    }
  }

  async remove(clientID: string): Promise<void> {
    this.entries.delete(clientID);
    const db = await this.db;
    try {
      await db?.delete(STORE, clientID);
    } catch {
      // nothing to do
    }
  }

  /** clear forgets every entry of user (signing out). */
  async clear(user: string): Promise<void> {
    for (const [id, e] of this.entries) if (e.user === user) this.entries.delete(id);
    const db = await this.db;
    if (!db) return;
    try {
      const keys = await db.getAllKeysFromIndex(STORE, "user", user);
      const tx = db.transaction(STORE, "readwrite");
      await Promise.all([...keys.map((k) => tx.store.delete(k)), tx.done]);
    } catch {
      // nothing to do
    }
  }

  /** pending lists the entries still to send (not refused), in order. */
  pending(): OutboxEntry[] {
    return [...this.entries.values()].filter((e) => !e.error);
  }
}
