// Every string a person sees comes from a catalogue: English (en.ts, the
// reference) and Japanese (ja.ts, which must have every key). The language
// is the browser's first of ours, changeable in the settings and
// remembered in localStorage; dates and times go through Intl.

import { signal } from "@preact/signals";
import { en, type Key } from "./en";
import { ja } from "./ja";

export type Lang = "en" | "ja";
export type { Key };

export const catalogues: Record<Lang, Record<Key, string>> = { en, ja };

const STORE = "hanashi.lang";

/** pickLang chooses from the stored choice, then the browser's languages. */
export function pickLang(stored: string | null, languages: readonly string[]): Lang {
  if (stored === "en" || stored === "ja") return stored;
  for (const l of languages) {
    const base = l.toLowerCase().split("-")[0];
    if (base === "ja" || base === "en") return base;
  }
  return "en";
}

function storedLang(): string | null {
  try {
    return localStorage.getItem(STORE);
  } catch {
    return null;
  }
}

export const lang = signal<Lang>(pickLang(storedLang(), typeof navigator === "undefined" ? [] : navigator.languages ?? []));

export function setLang(l: Lang): void {
  lang.value = l;
  try {
    localStorage.setItem(STORE, l);
  } catch {
    // private mode: it lasts as long as the page
  }
}

/**
 * t returns the text of key in the current language with {name} filled in
 * from params. A key whose count param is given may have a plural form:
 * key + ".one" is used for a count that Intl calls "one".
 */
export function t(key: Key, params?: Record<string, string | number>): string {
  const l = lang.value;
  const cat = catalogues[l];
  let text = cat[key];
  if (params && typeof params.count === "number") {
    const form = new Intl.PluralRules(l).select(params.count);
    const alt = cat[`${key}.${form}` as Key];
    if (alt) text = alt;
  }
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (all, name: string) => (name in params ? String(params[name]) : all));
}

const timeFormats = new Map<string, Intl.DateTimeFormat>();
function format(opts: Intl.DateTimeFormatOptions, name: string): Intl.DateTimeFormat {
  const k = `${lang.value}:${name}`;
  let f = timeFormats.get(k);
  if (!f) {
    f = new Intl.DateTimeFormat(lang.value, opts);
    timeFormats.set(k, f);
  }
  return f;
}

/** clock is a time of day, "14:05". */
export function clock(d: Date): string {
  return format({ hour: "2-digit", minute: "2-digit" }, "clock").format(d);
}

/** fullTime is a date and a time, for titles. */
export function fullTime(d: Date): string {
  return format({ dateStyle: "medium", timeStyle: "short" }, "full").format(d);
}

/** day is a date for the separators between days. */
export function day(d: Date): string {
  return format({ dateStyle: "full" }, "day").format(d);
}

/** dayLabel names the day of d: "Today", "Yesterday", else the date. */
export function dayLabel(d: Date, now: Date = new Date()): string {
  const start = (x: Date) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const days = Math.round((start(d) - start(now)) / 86400000);
  if (days === 0 || days === -1) {
    const s = new Intl.RelativeTimeFormat(lang.value, { numeric: "auto" }).format(days, "day");
    return s.charAt(0).toLocaleUpperCase(lang.value) + s.slice(1);
  }
  return day(d);
}

