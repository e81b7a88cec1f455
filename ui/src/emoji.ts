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
