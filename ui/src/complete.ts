// The composer's autocomplete, without the DOM: which trigger the caret is
// in (@ a person, # a room, : an emoji), how names rank against what was
// typed, and what the text becomes when an entry is accepted.
//
// What is inserted is what the server and the renderer recognise
// (chat.go MentionNames, markdown.ts): "@" and the display name as it is,
// spaces and all; "#" and the room's name; the emoji character itself.

/** The most entries the list shows. */
export const LIMIT = 8;

/** How far back from the caret a trigger is looked for (a name is at most 64 characters). */
const REACH = 80;
/** A query with more spaces than this is a sentence, not a name. */
const MAX_SPACES = 2;

const WORD = /[\p{L}\p{N}_]/u;
const SPACE = /\s/u;

export type TriggerKind = "@" | "#" | ":";

// Japanese input methods type the full-width forms; they are replaced by
// the ASCII ones the server reads.
const TRIGGERS: Record<string, TriggerKind> = { "@": "@", "\uff20": "@", "#": "#", "\uff03": "#", ":": ":", "\uff1a": ":" };

export interface Trigger {
  kind: TriggerKind;
  /** where the trigger character is */
  start: number;
  /** what follows it, up to the caret */
  query: string;
}

function before(text: string, i: number): string | undefined {
  if (i <= 0) return undefined;
  const c = text.charCodeAt(i - 1);
  // the low half of a surrogate pair: the code point starts one earlier
  if (c >= 0xdc00 && c <= 0xdfff && i >= 2) return text.slice(i - 2, i);
  return text[i - 1];
}

/** boundary: a trigger starts the text or follows a character that is not a letter, digit or '_' (as chat.go's mentions). */
function boundary(text: string, i: number): boolean {
  const prev = before(text, i);
  return prev === undefined || !WORD.test(prev);
}

/**
 * trigger finds the trigger the caret is in, or null. "@" and "#" count at
 * the start or after a character that is not a letter, digit or "_" (so
 * user@example.com is no mention) and take what follows, spaces included
 * (names have spaces) but no line break; ":" counts the same way and needs
 * at least two characters without a space after it (so "12:30" and ": "
 * are not emoji).
 */
export function trigger(text: string, caret: number): Trigger | null {
  if (caret < 0 || caret > text.length) return null;
  const stop = Math.max(0, caret - REACH);
  for (let i = caret - 1; i >= stop; i--) {
    const c = TRIGGERS[text[i]!];
    if (text[i] === "\n") return null;
    if (c === "@" || c === "#") {
      if (!boundary(text, i)) return null;
      const query = text.slice(i + 1, caret);
      if (query !== "" && SPACE.test(query[0]!)) return null;
      if ((query.match(/\s/gu)?.length ?? 0) > MAX_SPACES) return null;
      return { kind: c, start: i, query };
    }
    if (c === ":") {
      const query = text.slice(i + 1, caret);
      if (boundary(text, i) && [...query].length >= 2 && !SPACE.test(query)) return { kind: ":", start: i, query };
      return null;
    }
  }
  return null;
}

/** fold is how names compare here: case-insensitive, in any script that has case. */
function fold(s: string): string {
  return s.toLocaleLowerCase();
}

/**
 * rank is how well name matches query: 0 when the name starts with it, 1
 * when a later word of the name does ("lee" in "Ann Lee"), -1 when it does
 * not match. An empty query matches everything with 0.
 */
export function rank(name: string, query: string): number {
  const q = fold(query);
  if (q === "") return 0;
  const n = fold(name);
  if (n.startsWith(q)) return 0;
  for (let i = 1; i < n.length; i++) {
    if (boundary(n, i) && WORD.test(n[i]!) && n.startsWith(q, i)) return 1;
  }
  return -1;
}

export interface Person {
  id: string;
  name: string;
  avatar_url?: string;
}

export type Presence = "online" | "away" | "offline";

/** An entry of the list. */
export type Entry =
  | { kind: "person"; id: string; name: string; avatar_url?: string; member: boolean; presence?: Presence }
  | { kind: "everyone" }
  | { kind: "room"; id: number; name: string; private: boolean; member: boolean }
  | { kind: "emoji"; unicode: string; label: string; shortcode: string };

const PRESENCE_ORDER: Record<Presence, number> = { online: 0, away: 1, offline: 2 };

type Collate = (a: string, b: string) => number;
const defaultCollate: Collate = (a, b) => a.localeCompare(b);

export interface PeopleQuery {
  query: string;
  /** the room's members, loaded by the client */
  members: readonly Person[];
  /** everyone else the server found (GET /users?q=) */
  others?: readonly Person[];
  /** the viewer, who is not offered */
  me?: string;
  presence?: (id: string) => Presence;
  /** offer @room (not in a direct room) */
  everyone?: boolean;
  collate?: Collate;
  limit?: number;
}

/**
 * people ranks the entries for "@": the room's members whose name matches
 * (the whole name's start before a later word's, then online before away
 * before offline, then by name), then @room, then anybody else found.
 */
export function people(p: PeopleQuery): Entry[] {
  const collate = p.collate ?? defaultCollate;
  const limit = p.limit ?? LIMIT;
  const state = (id: string): Presence => p.presence?.(id) ?? "offline";
  const seen = new Set<string>(p.me ? [p.me] : []);
  const pick = (list: readonly Person[], member: boolean) => {
    const hits: { x: Person; r: number; s: number }[] = [];
    for (const x of list) {
      if (seen.has(x.id)) continue;
      seen.add(x.id);
      const r = rank(x.name, p.query);
      if (r >= 0) hits.push({ x, r, s: member ? PRESENCE_ORDER[state(x.id)] : 0 });
    }
    hits.sort((a, b) => a.r - b.r || a.s - b.s || collate(a.x.name, b.x.name) || (a.x.id < b.x.id ? -1 : 1));
    return hits.map(({ x }): Entry => ({ kind: "person", id: x.id, name: x.name, avatar_url: x.avatar_url, member, presence: member ? state(x.id) : undefined }));
  };
  const out = pick(p.members, true);
  if (p.everyone && "room".startsWith(fold(p.query))) out.push({ kind: "everyone" });
  out.push(...pick(p.others ?? [], false));
  return out.slice(0, limit);
}

export interface RoomLike {
  id: number;
  name: string;
  private: boolean;
  member: boolean;
  kind?: string;
}

/** rooms ranks the entries for "#": the rooms one can see (not direct ones), those one is in first. */
export function rooms(list: Iterable<RoomLike>, query: string, collate: Collate = defaultCollate, limit = LIMIT): Entry[] {
  const hits: { x: RoomLike; r: number }[] = [];
  for (const x of list) {
    if (x.kind === "direct") continue;
    const r = rank(x.name, query);
    if (r >= 0) hits.push({ x, r });
  }
  hits.sort((a, b) => a.r - b.r || Number(b.x.member) - Number(a.x.member) || collate(a.x.name, b.x.name) || a.x.id - b.x.id);
  return hits.slice(0, limit).map(({ x }) => ({ kind: "room", id: x.id, name: x.name, private: x.private, member: x.member }));
}

/** insertion is the text an entry puts in place of its trigger and query. */
export function insertion(e: Entry): string {
  switch (e.kind) {
    case "person":
      return "@" + e.name;
    case "everyone":
      return "@room";
    case "room":
      return "#" + e.name;
    case "emoji":
      return e.unicode;
  }
}

/**
 * accept replaces the trigger and the query (up to the caret) with text,
 * followed by a space unless one follows already; the caret goes after
 * the space.
 */
export function accept(value: string, t: Trigger, caret: number, text: string): { value: string; caret: number; from: number; to: number; insert: string } {
  const after = value.slice(caret);
  const insert = after !== "" && SPACE.test(after[0]!) ? text : text + " ";
  const next = value.slice(0, t.start) + insert + after;
  const at = t.start + insert.length + (insert === text ? 1 : 0);
  return { value: next, caret: at, from: t.start, to: caret, insert };
}
