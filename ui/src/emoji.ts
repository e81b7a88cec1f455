// Emoji data from emojibase, loaded on first use as chunks of their own (the
// first screen never waits for them): names and keywords in the person's
// language, and shortcodes (GitHub's, then Emojibase's) in ASCII, which is
// what people type after a colon in either language.

import type { CompactEmoji, ShortcodesDataset } from "emojibase";
import { lang, type Lang } from "./i18n";

export interface Emoji {
  unicode: string;
  /** the name, in the language loaded */
  label: string;
  /** without colons: "thumbsup", "+1" */
  shortcodes: string[];
  /** search words, in the language loaded */
  tags: string[];
  /** emojibase's group (0 smileys … 9 flags); components have none */
  group: number;
  order: number;
  /** the five skin tones, light to dark, where the emoji has them */
  skins?: Emoji[];
}

export interface EmojiData {
  lang: Lang;
  list: Emoji[];
  /** by unicode, skin tones included */
  byUnicode: Map<string, Emoji>;
  /** by shortcode */
  byShortcode: Map<string, Emoji>;
}

/**
 * canonical is the fully-qualified form of an emoji as Unicode lists it:
 * without a variation selector after a character that shows as emoji
 * anyway ("👍", not "👍\uFE0F"), with it where it is needed ("❤️"). Keyboards
 * and emojibase differ on this; reactions are compared as strings.
 */
export function canonical(s: string): string {
  return s.replace(/(\p{Emoji_Presentation})\uFE0F/gu, "$1");
}

async function fetchData(l: Lang): Promise<EmojiData> {
  const [compact, github, base] = await Promise.all([
    l === "ja" ? import("emojibase-data/ja/compact.json") : import("emojibase-data/en/compact.json"),
    import("emojibase-data/en/shortcodes/github.json"),
    import("emojibase-data/en/shortcodes/emojibase.json"),
  ]);
  const codes = (hex: string): string[] => {
    const out: string[] = [];
    for (const set of [github.default, base.default] as ShortcodesDataset[]) {
      const v = set[hex];
      for (const c of typeof v === "string" ? [v] : (v ?? [])) if (!out.includes(c)) out.push(c);
    }
    return out;
  };
  const convert = (e: CompactEmoji): Emoji => ({
    unicode: canonical(e.unicode),
    label: e.label,
    shortcodes: codes(e.hexcode),
    tags: e.tags ?? [],
    group: e.group ?? -1,
    order: e.order ?? 0,
    skins: e.skins?.map(convert),
  });
  const list = (compact.default as CompactEmoji[]).filter((e) => e.group !== undefined && e.group !== 2).map(convert);
  list.sort((a, b) => a.order - b.order);
  const byUnicode = new Map<string, Emoji>();
  const byShortcode = new Map<string, Emoji>();
  for (const e of list) {
    for (const x of [e, ...(e.skins ?? [])]) {
      byUnicode.set(x.unicode, x);
      byUnicode.set(x.unicode.replaceAll("\uFE0F", ""), x); // as some keyboards type it
    }
    for (const c of e.shortcodes) if (!byShortcode.has(c)) byShortcode.set(c, e);
  }
  return { lang: l, list, byUnicode, byShortcode };
}

let loading: Promise<EmojiData> | null = null;
let loadingLang: Lang | null = null;

/** loadEmoji loads the data for the current language once; later calls share it. */
export function loadEmoji(): Promise<EmojiData> {
  const l = lang.value;
  if (!loading || loadingLang !== l) {
    loadingLang = l;
    loading = fetchData(l);
    loading.catch(() => {
      if (loadingLang === l) loading = null; // try again next time
    });
  }
  return loading;
}

/** rank is how well e matches q (lower is better), or -1. */
function rank(e: Emoji, q: string): number {
  let best = -1;
  const better = (r: number) => {
    if (best < 0 || r < best) best = r;
  };
  for (const c of e.shortcodes) {
    if (c === q) return 0;
    if (c.startsWith(q)) better(1);
    else if (c.includes("_" + q)) better(2);
  }
  const label = e.label.toLowerCase();
  if (label.startsWith(q)) better(3);
  else if (label.includes(" " + q) || label.includes(q)) better(4);
  for (const tag of e.tags) if (tag.toLowerCase().startsWith(q)) better(5);
  return best;
}

/**
 * searchEmoji finds up to limit emoji whose shortcode, name or keywords
 * match q (case-insensitive): exact shortcodes first, then shortcodes that
 * start with q, then names, then keywords; the standard order within each.
 */
export async function searchEmoji(q: string, limit = 8): Promise<Emoji[]> {
  const data = await loadEmoji();
  return searchIn(data, q, limit);
}

/** searchIn is searchEmoji on data already loaded. */
export function searchIn(data: EmojiData, q: string, limit = 8): Emoji[] {
  q = q.trim().toLowerCase().replace(/^:|:$/g, "");
  if (!q) return [];
  const hits: { e: Emoji; r: number }[] = [];
  for (const e of data.list) {
    const r = rank(e, q);
    if (r >= 0) hits.push({ e, r });
  }
  hits.sort((a, b) => a.r - b.r || a.e.order - b.e.order);
  return hits.slice(0, limit).map((h) => h.e);
}

// ---- the picker's logic: groups, skin tones, the recently used ----------

/** GROUPS are emojibase's groups the picker shows, in order (2, components, is not one). */
export const GROUPS = [0, 1, 3, 4, 5, 6, 7, 8, 9] as const;

/** SKIN_TONES are the modifiers U+1F3FB (light) … U+1F3FF (dark); tone n is SKIN_TONES[n-1]. */
export const SKIN_TONES = ["\u{1F3FB}", "\u{1F3FC}", "\u{1F3FD}", "\u{1F3FE}", "\u{1F3FF}"] as const;

/**
 * withTone is e in skin tone n (1 light … 5 dark; 0 is the default yellow):
 * the variant whose every person has that tone. Emoji of two people list
 * mixed tones too; one without a uniform variant stays as it is.
 */
export function withTone(e: Emoji, tone: number): Emoji {
  if (!tone || !e.skins) return e;
  const mod = SKIN_TONES[tone - 1];
  if (!mod) return e;
  return (
    e.skins.find((s) => {
      const mods = [...s.unicode].filter((c) => (SKIN_TONES as readonly string[]).includes(c));
      return mods.length > 0 && mods.every((c) => c === mod);
    }) ?? e
  );
}

/**
 * findEmoji is searchIn for the picker's search box: an emoji pasted or
 * typed from the system's keyboard (a two-tone kiss, say) is found as
 * itself, first.
 */
export function findEmoji(data: EmojiData, q: string, limit = 8): Emoji[] {
  const s = q.trim();
  const exact = data.byUnicode.get(canonical(s)) ?? data.byUnicode.get(s);
  const hits = searchIn(data, q, limit);
  if (!exact) return hits;
  return [exact, ...hits.filter((e) => e !== exact)].slice(0, limit);
}

export const RECENT_MAX = 24;
const RECENT_KEY = "hanashi.emoji.recent";
const TONE_KEY = "hanashi.emoji.tone";

function stored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage refused (a private window, a sandbox): nothing remembered
  }
}

function store(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // full or refused: the picker works without memory
  }
}

/** recentEmoji is what this browser picked, the most recent first. */
export function recentEmoji(): string[] {
  try {
    const v: unknown = JSON.parse(stored(RECENT_KEY) ?? "[]");
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && x !== "").slice(0, RECENT_MAX) : [];
  } catch {
    return [];
  }
}

/** withRecent is list with emoji moved (or added) to the front, at most max long. */
export function withRecent(list: readonly string[], emoji: string, max = RECENT_MAX): string[] {
  return [emoji, ...list.filter((e) => e !== emoji)].slice(0, max);
}

/** rememberEmoji puts emoji (canonical) at the front of the recently used. */
export function rememberEmoji(emoji: string): void {
  store(RECENT_KEY, JSON.stringify(withRecent(recentEmoji(), canonical(emoji))));
}

/** skinTone is the tone chosen in the picker: 0 (default) to 5. */
export function skinTone(): number {
  const n = Number(stored(TONE_KEY) ?? 0);
  return Number.isInteger(n) && n >= 0 && n <= 5 ? n : 0;
}

export function setSkinTone(n: number): void {
  store(TONE_KEY, String(n));
}
