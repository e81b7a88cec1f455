// What the quick switcher lists: the rooms of the sidebar (the public ones
// not joined too), direct conversations, and people found by the server,
// ranked for a query by fuzzy.ts. With no query: the unread rooms, then
// the recently visited ones (kept by keys.ts), then the rest. `rank` is
// pure; `candidates` reads the state.

import { fuzzyMatch } from "./fuzzy";
import { feeds } from "./state/feeds";
import { isDirect, members, rooms, title } from "./state/rooms";
import type { Author } from "./types";

export type Kind = "room" | "direct" | "person";

export interface Candidate {
  /** unique in a list: "room:3", "user:<id>" */
  key: string;
  kind: Kind;
  name: string;
  room?: number;
  user?: string;
  member: boolean;
  private: boolean;
  unread: number;
  mentions: number;
  /** place in the recently visited list: 0 the latest, -1 never */
  recent: number;
  /** the name of the room it was created in, if this page knows it */
  parent?: string;
}

export interface Ranked extends Candidate {
  score: number;
  /** indices in name of the characters the query matched */
  positions: number[];
}

/** A query: "#" first asks for rooms only, "@" for people only. */
export function parseQuery(raw: string): { text: string; only: "rooms" | "people" | null } {
  const s = raw.trimStart();
  if (s.startsWith("#")) return { text: s.slice(1), only: "rooms" };
  if (s.startsWith("@")) return { text: s.slice(1), only: "people" };
  return { text: s, only: null };
}

const byName = (a: Candidate, b: Candidate) => a.name.localeCompare(b.name) || a.key.localeCompare(b.key);
const byRecent = (a: Candidate, b: Candidate) => (a.recent < 0 ? 1e9 : a.recent) - (b.recent < 0 ? 1e9 : b.recent);

/**
 * rank orders the candidates for the query. With text: those that match,
 * best score first, then unread, then the most recently visited, then
 * rooms joined, then by name. With none: unread rooms (mentions first),
 * then recent, then the other rooms joined, the direct ones, then those
 * not joined; the room on screen is left out (it is where you are).
 */
export function rank(all: readonly Candidate[], raw: string, current: number | null, limit = 50): Ranked[] {
  const { text, only } = parseQuery(raw);
  const pool = all.filter((c) => (only === "rooms" ? c.kind === "room" : only === "people" ? c.kind !== "room" : true));
  if (text.trim() === "") {
    const rest = pool.filter((c) => c.kind !== "person" && c.room !== current);
    const unread = rest.filter((c) => c.unread > 0 || c.mentions > 0).sort((a, b) => b.mentions - a.mentions || byRecent(a, b) || byName(a, b));
    const recent = rest.filter((c) => !unread.includes(c) && c.recent >= 0).sort(byRecent);
    const other = rest
      .filter((c) => !unread.includes(c) && c.recent < 0)
      .sort((a, b) => Number(b.member) - Number(a.member) || Number(a.kind === "direct") - Number(b.kind === "direct") || byName(a, b));
    return [...unread, ...recent, ...other].slice(0, limit).map((c) => ({ ...c, score: 0, positions: [] }));
  }
  const out: Ranked[] = [];
  for (const c of pool) {
    const m = fuzzyMatch(text, c.name);
    if (m) out.push({ ...c, score: m.score, positions: m.positions });
  }
  out.sort(
    (a, b) =>
      b.score - a.score ||
      Number(b.unread > 0 || b.mentions > 0) - Number(a.unread > 0 || a.mentions > 0) ||
      byRecent(a, b) ||
      Number(b.member) - Number(a.member) ||
      byName(a, b),
  );
  return out.slice(0, limit);
}

// ---- from the state ----

/**
 * candidates lists every room this page knows (as the sidebar names it)
 * and the people found, leaving out a person whose one-to-one direct room
 * is listed already (choosing either opens the same room).
 */
export function candidates(me: string, recent: readonly number[], people: readonly Author[] = []): Candidate[] {
  const out: Candidate[] = [];
  const withRoom = new Set<string>();
  for (const r of rooms.value.values()) {
    const list = members.value.get(r.id);
    const feed = r.member ? feeds.get(r.id) : undefined;
    if (isDirect(r) && list) {
      const others = list.filter((m) => m.id !== me);
      if (others.length === 1) withRoom.add(others[0]!.id);
    }
    out.push({
      key: `room:${r.id}`,
      kind: isDirect(r) ? "direct" : "room",
      name: title(r, list, me),
      room: r.id,
      member: r.member,
      private: r.private,
      unread: feed?.unread ?? 0,
      mentions: feed?.mentions ?? 0,
      recent: recent.indexOf(r.id),
      parent: r.parent !== undefined && r.parent !== r.id ? rooms.value.get(r.parent)?.name : undefined,
    });
  }
  for (const p of people) {
    if (p.id === me || withRoom.has(p.id)) continue;
    out.push({ key: `user:${p.id}`, kind: "person", name: p.name, user: p.id, member: false, private: true, unread: 0, mentions: 0, recent: -1 });
  }
  return out;
}
