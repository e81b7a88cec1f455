// The emoji picker's inside (EmojiPicker.tsx loads it on first use): a search box, the skin tone, categories, and every
// emoji of emojibase (../emoji.ts, loaded on first use) with the recently
// used first. A popover by its opener on a desktop, a sheet at the foot of
// a phone's screen; it stays in the DOM where its opener renders it and
// shows in the top layer (the popover API), above any scroller or
// containment. The emoji are a listbox of groups, one Tab stop, moved in
// by the arrow keys as they are laid out on screen.

import { memo } from "preact/compat";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { EMOJI } from "../client";
import {
  canonical,
  findEmoji,
  GROUPS,
  loadEmoji,
  RECENT_MAX,
  recentEmoji,
  rememberEmoji,
  setSkinTone,
  skinTone,
  withTone,
  type Emoji,
  type EmojiData,
} from "../emoji";
import { t, type Key } from "../i18n";
import "../styles/emoji.css";

import type { EmojiPickerProps } from "./EmojiPicker";

const RESULTS_MAX = 200;
const FIRST = 200; // emoji in the first frame: the recently used and the smileys
const CHUNK = 150; // emoji added a frame after it
/** the representative emoji of each group, for its category button */
const GROUP_ICON: Record<number, string> = { 0: "😀", 1: "👋", 3: "🐻", 4: "🍔", 5: "🚗", 6: "⚽", 7: "💡", 8: "🔣", 9: "🏁" };
const TONE_ICON = ["✋", "✋🏻", "✋🏼", "✋🏽", "✋🏾", "✋🏿"];

let pickers = 0; // ids of the open pickers' parts, unique on the page

interface Section {
  /** "recent", "results" or the group's number */
  id: string;
  heading: string;
  items: { unicode: string; label: string; e?: Emoji }[];
}

interface SectionProps {
  s: Section;
  idPrefix: string;
  /** the option in the Tab order, when it is in this section */
  active: string | null;
  chosen?: (emoji: string) => boolean;
}

/** optionKey names an option: the same emoji may be in two sections. */
function optionKey(section: string, unicode: string): string {
  return section + " " + unicode;
}

const SectionView = memo(function SectionView({ s, idPrefix, active, chosen }: SectionProps) {
  const head = `${idPrefix}-h-${s.id}`;
  return (
    <div role="group" aria-labelledby={head} class="picker-section" data-section={s.id}>
      <div id={head} class="picker-heading">
        {s.heading}
      </div>
      <div class="picker-grid">
        {s.items.map((i) => {
          const k = optionKey(s.id, i.unicode);
          const mine = chosen?.(i.unicode) ?? false;
          return (
            <button
              key={k}
              type="button"
              role="option"
              class={mine ? "pick mine" : "pick"}
              data-emoji={i.unicode}
              data-key={k}
              aria-label={i.label}
              aria-selected={mine}
              tabIndex={k === active ? 0 : -1}
            >
              {i.unicode}
            </button>
          );
        })}
      </div>
    </div>
  );
});

/** columns is how many emoji a row of the grid holds, as laid out. */
function columns(grid: Element): number {
  const cols = getComputedStyle(grid).gridTemplateColumns.split(" ").filter(Boolean).length;
  return Math.max(1, cols);
}

/**
 * target is where an arrow key (or Home, End, PageUp, PageDown) goes from
 * the option `from`: up and down by rows as shown, across groups too;
 * null from the top row up (the search box is above).
 */
function target(list: HTMLElement, from: HTMLElement, key: string): HTMLElement | null | undefined {
  const grids = [...list.querySelectorAll<HTMLElement>(".picker-grid")];
  const all = [...list.querySelectorAll<HTMLElement>("[role=option]")];
  const grid = from.parentElement as HTMLElement;
  const items = [...grid.children] as HTMLElement[];
  const g = grids.indexOf(grid);
  const i = items.indexOf(from);
  const cols = columns(grid);
  const col = i % cols;
  switch (key) {
    case "ArrowLeft":
      return all[all.indexOf(from) - 1] ?? from;
    case "ArrowRight":
      return all[all.indexOf(from) + 1] ?? from;
    case "Home":
      return all[0];
    case "End":
      return all[all.length - 1];
    case "PageDown":
      return grids[g + 1]?.firstElementChild as HTMLElement | undefined;
    case "PageUp":
      return (i > 0 ? grid.firstElementChild : grids[g - 1]?.firstElementChild) as HTMLElement | undefined;
    case "ArrowDown": {
      if (i + cols < items.length) return items[i + cols];
      const lastRow = Math.floor((items.length - 1) / cols);
      if (Math.floor(i / cols) < lastRow) return items[items.length - 1];
      const next = grids[g + 1];
      if (!next) return from;
      return (next.children[Math.min(col, next.children.length - 1)] as HTMLElement) ?? from;
    }
    case "ArrowUp": {
      if (i - cols >= 0) return items[i - cols];
      const prev = grids[g - 1];
      if (!prev) return null;
      const n = prev.children.length;
      const start = Math.floor((n - 1) / cols) * cols;
      return prev.children[Math.min(start + col, n - 1)] as HTMLElement;
    }
  }
  return undefined;
}

/** place is where the popover goes beside its opener's box r: below, else above, within the screen. */
export function place(r: DOMRect, w: number, h: number, vw: number, vh: number): { top: number; left: number } {
  const gap = 4;
  const margin = 8;
  const left = Math.max(margin, Math.min(r.right - w, vw - w - margin));
  let top: number;
  if (r.bottom + gap + h <= vh - margin) top = r.bottom + gap;
  else if (r.top - gap - h >= margin) top = r.top - gap - h;
  else top = vh - h - margin;
  // An opener scrolled out of sight leaves the picker at the screen's edge.
  return { top: Math.max(margin, Math.min(top, vh - h - margin)), left };
}

export default function EmojiPanel({ onPick, onClose, chosen }: EmojiPickerProps) {
  const [id] = useState(() => `picker-${++pickers}`);
  // The opener had the focus when the picker was asked for: it gets it back.
  const [opener] = useState(() => (document.activeElement instanceof HTMLElement && document.activeElement !== document.body ? document.activeElement : null));
  const root = useRef<HTMLDivElement>(null);
  const search = useRef<HTMLInputElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const body = useRef<HTMLDivElement>(null);
  const toneButton = useRef<HTMLButtonElement>(null);
  const [data, setData] = useState<EmojiData | null>(null);
  const [failed, setFailed] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const [query, setQuery] = useState("");
  const [tone, setTone] = useState(skinTone);
  const [toneOpen, setToneOpen] = useState(false);
  const [recent] = useState(recentEmoji);
  // The first frame shows the recently used and the first group; the
  // others follow, CHUNK emoji a frame, so that no task is long.
  const [budget, setBudget] = useState(FIRST);
  const [active, setActive] = useState<string | null>(null);
  const [shown, setShown] = useState<string | null>(null);
  const [current, setCurrent] = useState("recent");
  const [pos, setPos] = useState<{ top: number; left: number } | null>(null);

  useEffect(() => {
    let live = true;
    setFailed(false);
    loadEmoji().then(
      (d) => live && setData(d),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [attempt]);

  const total = data?.list.length ?? 0;
  useEffect(() => {
    if (!data || budget > total + RECENT_MAX) return;
    let timer = 0;
    const frame = requestAnimationFrame(() => {
      timer = window.setTimeout(() => setBudget((b) => b + CHUNK), 0);
    });
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  }, [data, budget]);

  // Open in the top layer, focus the search box (not on a touch screen,
  // where its keyboard would cover the sheet); give the focus back on close.
  useLayoutEffect(() => {
    const el = root.current!;
    if (typeof el.showPopover === "function") el.showPopover();
    if (matchMedia("(pointer: coarse)").matches) el.focus();
    else search.current?.focus();
    return () => {
      const f = document.activeElement;
      if (opener?.isConnected && (!f || f === document.body || el.contains(f))) opener.focus();
    };
  }, []);

  // Beside the opener (or what holds the picker); again when the page moves.
  useLayoutEffect(() => {
    const el = root.current!;
    const update = () => {
      const anchor = opener?.isConnected ? opener : el.parentElement;
      if (!anchor) return;
      const next = place(anchor.getBoundingClientRect(), el.offsetWidth, el.offsetHeight, document.documentElement.clientWidth, window.innerHeight);
      setPos((p) => (p && p.top === next.top && p.left === next.left ? p : next));
    };
    update();
    const onScroll = (ev: Event) => {
      if (!(ev.target instanceof Node && el.contains(ev.target))) update();
    };
    window.addEventListener("resize", update);
    window.addEventListener("scroll", onScroll, true);
    return () => {
      window.removeEventListener("resize", update);
      window.removeEventListener("scroll", onScroll, true);
    };
  }, [data, toneOpen]);

  // A click elsewhere closes it; a click on the opener is the opener's (it toggles).
  useEffect(() => {
    const onDown = (ev: PointerEvent) => {
      const el = root.current;
      const at = ev.target as Node;
      if (!el || el.contains(at) || opener?.contains(at)) return;
      onClose();
    };
    document.addEventListener("pointerdown", onDown, true);
    return () => document.removeEventListener("pointerdown", onDown, true);
  }, [onClose]);

  const toned = (e: Emoji) => withTone(e, tone);
  const label = (u: string) => data?.byUnicode.get(u)?.label ?? u;

  const sections = useMemo<Section[]>(() => {
    const q = query.trim();
    if (q) {
      if (!data) return [];
      const hits = findEmoji(data, q, RESULTS_MAX).map(toned);
      return [{ id: "results", heading: t("emoji.resultsHeading"), items: hits.map((e) => ({ unicode: e.unicode, label: e.label, e })) }];
    }
    const top: Section = recent.length
      ? { id: "recent", heading: t("emoji.recent"), items: recent.map((u) => ({ unicode: u, label: label(u) })) }
      : { id: "recent", heading: t("emoji.common"), items: EMOJI.map((u) => ({ unicode: canonical(u), label: label(canonical(u)) })) };
    const out = [top];
    if (!data) return out;
    const by = new Map<number, Emoji[]>();
    for (const e of data.list) {
      const l = by.get(e.group);
      if (l) l.push(e);
      else by.set(e.group, [e]);
    }
    for (const g of GROUPS) {
      out.push({
        id: String(g),
        heading: t(`emoji.group.${g}` as Key),
        items: (by.get(g) ?? []).map((e) => {
          const x = toned(e);
          return { unicode: x.unicode, label: x.label, e: x };
        }),
      });
    }
    return out;
  }, [data, query, tone, recent]);

  let left = query.trim() ? Infinity : budget;
  const visible: Section[] = [];
  for (const s of sections) {
    if (left <= 0) break;
    visible.push(s.items.length <= left ? s : { ...s, items: s.items.slice(0, left) });
    left -= s.items.length;
  }
  const results = query.trim() ? (sections[0]?.items.length ?? 0) : -1;
  // The Tab stop of the list: the option last moved to, else the first.
  const keys = new Set(visible.flatMap((s) => s.items.map((i) => optionKey(s.id, i.unicode))));
  const first = visible[0]?.items[0] ? optionKey(visible[0].id, visible[0].items[0].unicode) : null;
  const tabStop = active && keys.has(active) ? active : first;
  const preview = shown ? (data?.byUnicode.get(shown.slice(shown.indexOf(" ") + 1)) ?? null) : null;

  const pick = (u: string) => {
    const e = canonical(u);
    rememberEmoji(e);
    onPick(e);
  };

  const focusOption = (el: HTMLElement) => {
    setActive(el.dataset.key ?? null);
    el.focus();
  };

  const onListKey = (ev: KeyboardEvent) => {
    const el = ev.target as HTMLElement;
    if (el.getAttribute("role") !== "option") return;
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      pick(el.dataset.emoji!);
      return;
    }
    if (ev.key.length === 1 && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      search.current?.focus(); // typing in the grid is searching: the key goes to the box
      return;
    }
    const next = target(list.current!, el, ev.key);
    if (next === undefined) return;
    ev.preventDefault();
    if (next === null) search.current?.focus();
    else focusOption(next);
  };

  const onSearchKey = (ev: KeyboardEvent) => {
    if (ev.isComposing) return;
    if (ev.key === "ArrowDown" || (ev.key === "Enter" && query.trim())) {
      const firstOption = list.current?.querySelector<HTMLElement>("[role=option]");
      if (!firstOption) return;
      ev.preventDefault();
      // Enter on a search picks its best match; ArrowDown goes to it.
      if (ev.key === "Enter") pick(firstOption.dataset.emoji!);
      else focusOption(firstOption);
    }
  };

  const onRootKey = (ev: KeyboardEvent) => {
    // The picker's keys are its own: not the message list's, nor the composer's, nor the page's.
    ev.stopPropagation();
    if (ev.key === "Escape" && !ev.isComposing) {
      ev.preventDefault();
      if (toneOpen) {
        setToneOpen(false);
        toneButton.current?.focus();
      } else onClose();
      return;
    }
    if (ev.key === "Tab") {
      // Tab goes round the picker's parts, as in a dialog.
      const stops = [...root.current!.querySelectorAll<HTMLElement>("input, button:not([disabled])")].filter(
        (el) => el.tabIndex >= 0 && el.getClientRects().length > 0,
      );
      const i = stops.indexOf(document.activeElement as HTMLElement);
      const next = ev.shiftKey ? (i <= 0 ? stops[stops.length - 1] : stops[i - 1]) : i < 0 || i === stops.length - 1 ? stops[0] : stops[i + 1];
      if (next) {
        ev.preventDefault();
        next.focus();
      }
    }
  };

  const goTo = (section: string) => {
    if (query) setQuery("");
    setBudget(Infinity);
    requestAnimationFrame(() => {
      const s = list.current?.querySelector<HTMLElement>(`[data-section="${section}"]`);
      const scroller = body.current;
      if (!s || !scroller) return;
      scroller.scrollTop = s.offsetTop - scroller.offsetTop;
      const firstOption = s.querySelector<HTMLElement>("[role=option]");
      if (firstOption) setActive(firstOption.dataset.key ?? null);
      setCurrent(section);
    });
  };

  // The category in view, marked among the buttons as the list scrolls.
  const onScroll = () => {
    const scroller = body.current;
    if (!scroller || !list.current) return;
    const y = scroller.scrollTop + scroller.offsetTop + 8;
    let at = "recent";
    for (const s of list.current.querySelectorAll<HTMLElement>("[data-section]")) {
      if (s.offsetTop <= y) at = s.dataset.section!;
    }
    if (at !== current) setCurrent(at);
  };

  const onToolbarKey = (ev: KeyboardEvent) => {
    if (ev.key !== "ArrowLeft" && ev.key !== "ArrowRight" && ev.key !== "Home" && ev.key !== "End") return;
    const buttons = [...(ev.currentTarget as HTMLElement).querySelectorAll<HTMLElement>("button")];
    const i = buttons.indexOf(ev.target as HTMLElement);
    const n = buttons.length;
    const next = ev.key === "Home" ? 0 : ev.key === "End" ? n - 1 : (i + (ev.key === "ArrowRight" ? 1 : n - 1)) % n;
    ev.preventDefault();
    buttons[next]?.focus();
  };

  const chooseTone = (n: number) => {
    setTone(n);
    setSkinTone(n);
    setToneOpen(false);
    toneButton.current?.focus();
  };

  const categories = [{ id: "recent", icon: "🕘", name: recent.length ? t("emoji.recent") : t("emoji.common") }].concat(
    GROUPS.map((g) => ({ id: String(g), icon: GROUP_ICON[g]!, name: t(`emoji.group.${g}` as Key) })),
  );
  const style: Record<string, string> | undefined = pos ? { "--picker-top": `${pos.top}px`, "--picker-left": `${pos.left}px` } : undefined;
  const searching = query.trim() !== "";

  return (
    <div
      ref={root}
      id={id}
      class="picker"
      role="dialog"
      aria-modal="true"
      aria-label={t("emoji.picker")}
      tabIndex={-1}
      popover="manual"
      style={style}
      onKeyDown={onRootKey}
      // A long touch in the picker is not one on the message it is in.
      onTouchStart={(ev) => ev.stopPropagation()}
      onPointerDown={(ev) => {
        // A tap on the sheet's backdrop comes to the sheet itself.
        const r = root.current!.getBoundingClientRect();
        if (ev.target === root.current && (ev.clientY < r.top || ev.clientY > r.bottom || ev.clientX < r.left || ev.clientX > r.right)) onClose();
      }}
    >
      <div class="picker-head">
        <input
          ref={search}
          type="search"
          class="picker-search"
          placeholder={t("emoji.search")}
          aria-label={t("emoji.search")}
          aria-describedby={`${id}-hint`}
          aria-controls={`${id}-list`}
          autocomplete="off"
          spellcheck={false}
          value={query}
          onInput={(ev) => {
            setQuery(ev.currentTarget.value);
            setActive(null);
            if (body.current) body.current.scrollTop = 0;
          }}
          onKeyDown={onSearchKey}
        />
        <span id={`${id}-hint`} class="visually-hidden">
          {t("emoji.searchHint")}
        </span>
        <button
          ref={toneButton}
          type="button"
          class="ghost picker-tone-button"
          aria-expanded={toneOpen}
          aria-controls={`${id}-tones`}
          aria-label={t("emoji.toneButton", { tone: t(`emoji.tone.${tone}` as Key) })}
          title={t("emoji.toneButton", { tone: t(`emoji.tone.${tone}` as Key) })}
          onClick={() => setToneOpen(!toneOpen)}
        >
          {TONE_ICON[tone]}
        </button>
      </div>
      <div id={`${id}-tones`} class="picker-tones" role="group" aria-label={t("emoji.tone")} hidden={!toneOpen}>
        {TONE_ICON.map((icon, n) => (
          <button
            key={n}
            type="button"
            class="ghost picker-tone"
            data-tone={String(n)}
            aria-pressed={n === tone}
            aria-label={t(`emoji.tone.${n}` as Key)}
            title={t(`emoji.tone.${n}` as Key)}
            onClick={() => chooseTone(n)}
          >
            {icon}
          </button>
        ))}
      </div>
      <div class="picker-cats" role="toolbar" aria-label={t("emoji.categories")} hidden={searching} onKeyDown={onToolbarKey}>
        {categories.map((c) => (
          <button
            key={c.id}
            type="button"
            class={c.id === current ? "ghost picker-cat current" : "ghost picker-cat"}
            data-section={c.id}
            aria-label={c.name}
            aria-current={c.id === current ? "true" : undefined}
            title={c.name}
            tabIndex={c.id === current ? 0 : -1}
            disabled={c.id !== "recent" && !data}
            onClick={() => goTo(c.id)}
          >
            {c.icon}
          </button>
        ))}
      </div>
      <div ref={body} class="picker-body" onScroll={onScroll}>
        {!data && !failed && (
          <p class="picker-note" role="status">
            {t("emoji.loading")}
          </p>
        )}
        {failed && (
          <p class="picker-note" role="alert">
            {t("emoji.failed")}{" "}
            <button type="button" class="small" onClick={() => setAttempt(attempt + 1)}>
              {t("emoji.retry")}
            </button>
          </p>
        )}
        {results === 0 && <p class="picker-note">{t("emoji.noResults")}</p>}
        <div
          ref={list}
          id={`${id}-list`}
          role="listbox"
          aria-label={t("emoji.picker")}
          aria-multiselectable={chosen ? true : undefined}
          class="picker-list"
          hidden={results === 0}
          onKeyDown={onListKey}
          onClick={(ev) => {
            const el = (ev.target as HTMLElement).closest<HTMLElement>("[role=option]");
            if (el) pick(el.dataset.emoji!);
          }}
          onFocusIn={(ev) => {
            const k = (ev.target as HTMLElement).dataset.key;
            if (k) {
              setActive(k);
              setShown(k);
            }
          }}
          onMouseOver={(ev) => {
            const k = (ev.target as HTMLElement).closest<HTMLElement>("[role=option]")?.dataset.key;
            if (k && k !== shown) setShown(k);
          }}
        >
          {visible.map((s) => (
            <SectionView key={s.id} s={s} idPrefix={id} active={tabStop?.startsWith(s.id + " ") ? tabStop : null} chosen={chosen} />
          ))}
        </div>
      </div>
      <div class="picker-preview" aria-hidden="true">
        {preview ? (
          <>
            <span class="picker-preview-emoji">{preview.unicode}</span>
            <span class="picker-preview-name">
              {preview.label}
              {preview.shortcodes[0] && <span class="picker-preview-code"> :{preview.shortcodes[0]}:</span>}
            </span>
          </>
        ) : (
          <span class="picker-preview-name">{t("emoji.searchHint")}</span>
        )}
      </div>
      <div class="visually-hidden" role="status" aria-live="polite">
        {results > 0 ? t("emoji.results", { count: results }) : results === 0 ? t("emoji.noResults") : ""}
      </div>
    </div>
  );
}
