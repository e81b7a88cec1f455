// Fuzzy matching for the quick switcher: the query's characters must
// appear in the name in order (a subsequence), and the score says how
// well they do. A match at the start of the name beats one at the start of
// a word, which beats one inside a word; runs of consecutive characters
// beat scattered ones. Both sides are compared in a folded form: NFKC (so
// full-width "ＡＢＣ" is "abc" and half-width "ﾊﾅｺ" is "ハナコ"), lower case,
// Latin accents dropped ("é" is "e"), katakana as hiragana ("ハナコ" is
// "はなこ"). Pure: no DOM, no state.

/** A match of a query in a text. */
export interface Match {
  /** higher is better; only comparable between matches of one query */
  score: number;
  /** the UTF-16 indices in the original text of the characters matched, ascending */
  positions: number[];
}

/** fold is one code point's folded form ("" for a combining accent). */
function foldChar(c: string): string {
  let s = c.normalize("NFKC").toLowerCase();
  // NFD splits "é" into "e" and U+0301; the Latin combining marks go.
  // Japanese voicing marks (U+3099, U+309A) are not in that block and stay.
  s = s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").normalize("NFC");
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    // Katakana ァ..ヶ to hiragana ぁ..ゖ.
    out += cp >= 0x30a1 && cp <= 0x30f6 ? String.fromCodePoint(cp - 0x60) : ch;
  }
  return out;
}

/** normalize folds a whole string (the form both sides are compared in). */
export function normalize(s: string): string {
  let out = "";
  for (const c of s) out += foldChar(c);
  return out;
}

/** A text folded character by character, each mapped back to where it came from. */
interface Folded {
  chars: string[];
  /** UTF-16 index in the original of each folded char */
  from: number[];
  /** whether each folded char begins a word */
  start: boolean[];
}

const SEPARATOR = /[\s\-_.,/\\:;#@()[\]{}'"!?|+&*~=<>・、。「」（）]/u;

type Script = "latin" | "digit" | "hira" | "kata" | "han" | "other";
function script(c: string): Script {
  if (/[a-z]/.test(c)) return "latin";
  if (/[0-9]/.test(c)) return "digit";
  if (/\p{Script=Hiragana}/u.test(c)) return "hira";
  if (/\p{Script=Katakana}/u.test(c)) return "kata";
  if (/\p{Script=Han}/u.test(c)) return "han";
  return "other";
}

function fold(text: string): Folded {
  const chars: string[] = [];
  const from: number[] = [];
  const start: boolean[] = [];
  let i = 0;
  let prev = ""; // the previous original character
  let prevScript: Script | null = null;
  for (const c of text) {
    const f = foldChar(c);
    // A word starts after a separator, at a lower-to-upper case change
    // ("roomName"), and where the script changes ("日本語chat", "漢字かな").
    const sc = script([...c.normalize("NFKC").toLowerCase()][0] ?? c);
    const boundary =
      prev === "" ||
      SEPARATOR.test(prev) ||
      (prev !== prev.toUpperCase() && c !== c.toLowerCase() && c === c.toUpperCase()) ||
      (prevScript !== null && sc !== prevScript && !(prevScript === "han" && sc === "hira"));
    let first = true;
    for (const ch of f) {
      chars.push(ch);
      from.push(i);
      start.push(first && boundary && !SEPARATOR.test(c));
      first = false;
    }
    i += c.length;
    prev = c;
    prevScript = sc;
  }
  return { chars, from, start };
}

// The weights: a character matched is worth 1; where it is matched adds.
const AT_START = 10; // the first character of the text
const AT_WORD = 6; // the first character of a word
const IN_RUN = 4; // right after the previous match
const GAP = 0.25; // per character skipped between two matches
const LEAD = 0.05; // per character before the first match
const PREFIX = 100; // the whole query is the start of the text
const WORD_PREFIX = 40; // the whole query is the start of a word

/** runBonus: the matched characters are one run from the start of the text, or of a word. */
function runBonus(t: Folded, at: readonly number[]): number {
  if (!at.every((j, i) => i === 0 || j === at[i - 1]! + 1)) return 0;
  if (at[0] === 0) return PREFIX;
  return t.start[at[0]!] ? WORD_PREFIX : 0;
}

/**
 * fuzzyMatch matches query against text; null when the query's
 * characters are not all in the text, in order. Whitespace in the query is
 * ignored. An empty query matches everything with score 0.
 */
export function fuzzyMatch(query: string, text: string): Match | null {
  const q = [...normalize(query).replace(/\s+/g, "")];
  if (q.length === 0) return { score: 0, positions: [] };
  const t = fold(text);
  const n = q.length;
  const m = t.chars.length;
  if (n > m) return null;

  // best[i][j]: the best score of q[0..i] with q[i] matched at t[j];
  // back[i][j] the j of q[i-1] in that best. Names are short (at most a
  // few dozen characters): O(n·m²) is nothing here, and it finds the best
  // alignment, not merely the first one.
  const NONE = -Infinity;
  const best: number[][] = [];
  const back: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row = new Array<number>(m).fill(NONE);
    const brow = new Array<number>(m).fill(-1);
    for (let j = i; j < m; j++) {
      if (t.chars[j] !== q[i]) continue;
      const here = 1 + (j === 0 ? AT_START : t.start[j] ? AT_WORD : 0);
      if (i === 0) {
        row[j] = here - LEAD * j;
        continue;
      }
      const prev = best[i - 1]!;
      for (let k = i - 1; k < j; k++) {
        const p = prev[k]!;
        if (p === NONE) continue;
        const s = p + here + (k === j - 1 ? IN_RUN : -GAP * (j - k - 1));
        if (s > row[j]!) {
          row[j] = s;
          brow[j] = k;
        }
      }
    }
    best.push(row);
    back.push(brow);
  }
  const last = best[n - 1]!;
  let end = -1;
  for (let j = 0; j < m; j++) if (last[j] !== NONE && (end < 0 || last[j]! > last[end]!)) end = j;
  if (end < 0) return null;

  const at: number[] = [];
  for (let i = n - 1, j = end; i >= 0; j = back[i]![j]!, i--) at.unshift(j);
  let score = last[end]! + runBonus(t, at);
  // A contiguous run at a word start elsewhere may beat the best
  // scattered alignment ("ab" in "a-x-b ab" is the last word).
  for (let j = 0; j + n <= m; j++) {
    if ((j !== 0 && !t.start[j]) || !q.every((c, i) => t.chars[j + i] === c)) continue;
    const run = Array.from({ length: n }, (_, i) => j + i);
    const s = n + (j === 0 ? AT_START : AT_WORD) + IN_RUN * (n - 1) - LEAD * j + runBonus(t, run);
    if (s > score) {
      score = s;
      at.splice(0, n, ...run);
    }
  }
  const positions = [...new Set(at.map((j) => t.from[j]!))];
  return { score, positions };
}
