// A list of messages as a log: one message is in the Tab order at a time
// (roving tabindex); ArrowUp/ArrowDown/Home/End move between messages,
// Enter goes into a message's controls, ArrowLeft/ArrowRight move among
// them, Escape comes back out. A touch held for 500 ms on a message shows
// its actions.
//
// The list is windowed: of the messages loaded (10,000 and more) it renders
// a slice of at most MAX_RENDERED around where the reader is, and slides
// the slice by STEP as the scroller nears either end of it, keeping the
// message at the top of the view where it was (the same anchoring keeps
// it in place when older pages come in above). The rows are measured by
// the browser, not estimated: a message is as high as it is. A list of up
// to MAX_RENDERED messages is rendered whole. The arrow keys, Home and End
// reach messages outside the slice: the slice moves to them first.

import type { ComponentChildren, VNode } from "preact";
import { dayLabel, t } from "../i18n";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { parseRoute } from "../route";
import { target } from "../state/reading";
import type { MentionName } from "../markdown";
import type { OutboxEntry } from "../outbox";
import { mentionsUser } from "../state/feed";
import type { Message as Msg } from "../types";
import { openActionsMenu } from "./Actions";
import { Message } from "./Message";

export interface ListProps {
  id: string;
  label: string;
  messages: readonly Msg[];
  pending: readonly OutboxEntry[];
  me: { id: string; name: string; avatar_url: string };
  member: boolean;
  moderator: boolean;
  names: readonly MentionName[];
  inThread?: boolean;
  /** the read marker when the room was opened: a "new" line follows it */
  newAfter?: number;
  threadNew?: (m: Msg) => number;
  children?: ComponentChildren;
  /** filled with the list's controls (scroll to the newest, to the "new" line) */
  handle?: { current: ListHandle | null };
  /** the scroller moved: where the reader is */
  onScrollState?: (s: ScrollState) => void;
  /** the oldest loaded message is in view: time to load an older page */
  onTop?: () => void;
}

export interface ScrollState {
  /** the newest message is in view (its bottom, within 80 px) */
  atBottom: boolean;
  /** scrolled away from the newest: more than half a screen, or the newest not rendered */
  away: boolean;
  /** the "new" line is above the view (or not rendered yet, above it) */
  newAbove: boolean;
  /** there is a "new" line */
  hasNew: boolean;
}

export interface ListHandle {
  /** toBottom shows the newest message and follows the ones that come; with focus, the keyboard goes to it. */
  toBottom(focus?: boolean): void;
  /** revealNew scrolls the "new" line to the top of the view and focuses the first unread message; false without one. */
  revealNew(): boolean;
  /** reveal scrolls message id into view (the middle), focuses it if asked, and marks it for a moment if asked. */
  reveal(id: string, how?: { focus?: boolean; highlight?: boolean }): boolean;
}

/** the most messages rendered at once; a list this long or shorter is rendered whole */
export const MAX_RENDERED = 240;
/** how many the window grows by as the reader nears one of its ends */
const STEP = 40;
/** how long a permalink's message stays marked */
export const HIGHLIGHT_MS = 4000;

export const LONG_PRESS = 500; // ms

type Item = { key: string; m: Msg; pending?: OutboxEntry };

function keyOf(m: Msg): string {
  return m.id ?? `seq-${m.seq}`;
}

function controls(li: Element): HTMLElement[] {
  return [...li.querySelectorAll<HTMLElement>("button:not([disabled]), a[href], textarea")].filter(
    (el) => el.getClientRects().length > 0 || el.closest(".actions") !== null,
  );
}

/** dayKey is the local date of a message, for the separators between days. */
function dayKey(iso: string): string {
  const d = iso ? new Date(iso) : new Date();
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

const GROUP_WITHIN = 5 * 60 * 1000; // ms: a message this soon after the last by the same person joins it

function isNew(i: { m: Msg; pending?: unknown }, me: string, newAfter: number): boolean {
  return newAfter >= 0 && !i.pending && i.m.seq > newAfter && i.m.author.id !== me;
}

/** elKey is the key of a rendered message: its id, a pending send's client id, or its seq. */
function elKey(el: HTMLElement): string {
  if (el.dataset.clientId) return "c-" + el.dataset.clientId;
  return el.dataset.id ?? `seq-${el.dataset.seq}`;
}

/** scrollerOf is the element that scrolls the list. */
function scrollerOf(el: HTMLElement | null): HTMLElement | null {
  return el?.closest<HTMLElement>(".scroller") ?? null;
}

/**
 * inAppLink is the route of a link to this client (the same page with a
 * room's hash: a permalink pasted into a message), or null.
 */
export function inAppLink(a: HTMLAnchorElement): string | null {
  let u: URL;
  try {
    u = new URL(a.href);
  } catch {
    return null;
  }
  if (u.origin !== location.origin || u.pathname !== location.pathname || u.search !== location.search) return null;
  return parseRoute(u.hash).room !== null ? u.hash : null;
}

/**
 * withDividers renders the items with a separator before each new day and
 * a "new" line before the first unread message by somebody else; a message
 * right after one by the same person is grouped with it (no picture, no
 * name shown).
 */
export function withDividers<T extends { key: string; m: Msg; pending?: unknown }>(
  items: T[],
  me: string,
  newAfter: number,
  each: (i: T, grouped: boolean) => VNode,
  /** for a window of a longer list: the message before it, and the key of the first unread (null: none) */
  context?: { before: Msg | null; newKey: string | null },
): VNode[] {
  const out: VNode[] = [];
  let prev: Msg | null = context?.before ?? null;
  let lastDay = prev ? dayKey(prev.created_at) : "";
  let marked = newAfter < 0;
  for (const i of items) {
    const m = i.m;
    let grouped = true;
    const k = dayKey(m.created_at);
    if (k !== lastDay) {
      lastDay = k;
      grouped = false;
      out.push(
        <div key={"day-" + k} class="divider day-divider" role="separator">
          <span>{dayLabel(new Date(m.created_at || Date.now()))}</span>
        </div>,
      );
    }
    if (context ? i.key === context.newKey : !marked && isNew(i, me, newAfter)) {
      marked = true;
      grouped = false;
      out.push(
        <div key="new" class="divider new-divider" role="separator">
          <span>{t("room.new")}</span>
        </div>,
      );
    }
    grouped =
      grouped &&
      !!prev &&
      prev.author.id === m.author.id &&
      prev.kind !== "room" &&
      m.kind !== "room" &&
      !m.edited_at &&
      new Date(m.created_at).getTime() - new Date(prev.created_at).getTime() < GROUP_WITHIN;
    out.push(each(i, grouped));
    prev = m;
  }
  return out;
}

export function MessageList(p: ListProps) {
  const [active, setActive] = useState<string | null>(null);
  const [, rerender] = useState(0);
  const ref = useRef<HTMLDivElement>(null);
  const press = useRef(0);
  /** the window: keys of its first and last message; hi null follows the newest */
  const win = useRef<{ lo: string | null; hi: string | null }>({ lo: null, hi: null });
  /** follow the newest: the reader is at the bottom */
  const stick = useRef(true);
  /** the message at the top of the view and where it was, to keep it there */
  const anchor = useRef<{ key: string; top: number } | null>(null);
  /** a message to bring into view after this render */
  const want = useRef<{ key: string; focus: boolean; highlight: boolean; block: "center" | "nearest" | "new" } | null>(null);
  const handled = useRef(0);
  const lastState = useRef("");
  const fills = useRef(0);

  const newAfter = p.newAfter ?? -1;
  // (10,000 messages: made again only when the list changed)
  const { items, index, newKey } = useMemo(() => {
    const items: Item[] = p.messages.map((m) => ({ key: keyOf(m), m }));
    for (const e of p.pending) {
      items.push({
        key: "c-" + e.client_id,
        pending: e,
        m: {
          room: e.room,
          seq: 0,
          kind: "message",
          author: p.me,
          body: e.body ?? "",
          created_at: e.at,
          thread: e.thread,
        },
      });
    }
    const index = new Map<string, number>();
    items.forEach((it, i) => index.set(it.key, i));
    let newKey: string | null = null;
    for (const it of items) {
      if (isNew(it, p.me.id, newAfter)) {
        newKey = it.key;
        break;
      }
    }
    return { items, index, newKey };
  }, [p.messages, p.pending, p.me, newAfter]);
  const n = items.length;

  // A permalink's message, once it is loaded: the window moves to it.
  const tg = target.value;
  if (tg && tg.list === p.id && tg.n !== handled.current && index.has(tg.id)) {
    handled.current = tg.n;
    place(index.get(tg.id)!);
    want.current = { key: tg.id, focus: true, highlight: true, block: "center" };
  }

  // The window, as indices.
  let hi = win.current.hi === null ? n - 1 : (index.get(win.current.hi) ?? n - 1);
  let lo =
    win.current.lo === null
      ? Math.max(0, n <= MAX_RENDERED ? 0 : n - MAX_RENDERED / 2)
      : (index.get(win.current.lo) ?? Math.max(0, hi - MAX_RENDERED / 2));
  if (lo > hi) lo = Math.max(0, hi - MAX_RENDERED / 2);
  if (n <= MAX_RENDERED) {
    lo = 0;
    hi = n - 1;
  }
  if (hi - lo + 1 > MAX_RENDERED) {
    // Following the newest, the oldest rendered go; reading further up,
    // what comes waits below until the reader scrolls down to it.
    if (win.current.hi === null && stick.current) lo = hi - MAX_RENDERED + 1;
    else hi = lo + MAX_RENDERED - 1;
  }
  win.current = { lo: items[lo]?.key ?? null, hi: hi >= n - 1 ? null : (items[hi]?.key ?? null) };
  const shown = items.slice(lo, hi + 1);
  const range = useRef({ lo, hi, n });
  range.current = { lo, hi, n };

  /** place centres the window on index i (it stays whole when the list is short). */
  function place(i: number): void {
    if (n <= MAX_RENDERED) {
      win.current = { lo: null, hi: null };
      return;
    }
    const from = Math.max(0, Math.min(i - MAX_RENDERED / 2, n - MAX_RENDERED));
    const to = from + MAX_RENDERED - 1;
    win.current = { lo: items[from]!.key, hi: to >= n - 1 ? null : items[to]!.key };
  }

  let activeKey = active !== null && index.has(active) ? active : (items[n - 1]?.key ?? null);
  // The message in the Tab order is one of those rendered.
  if (activeKey !== null) {
    const ai = index.get(activeKey)!;
    if (ai < lo || ai > hi) activeKey = items[hi]?.key ?? null;
  }

  const messages = () => [...(ref.current?.querySelectorAll<HTMLElement>(":scope > .message") ?? [])];
  const find = (key: string) => messages().find((el) => elKey(el) === key) ?? null;

  /** measure notes the first message whose bottom is in view and where its top is. */
  const measure = () => {
    const s = scrollerOf(ref.current);
    if (!s) return;
    const top = s.getBoundingClientRect().top;
    for (const el of messages()) {
      const r = el.getBoundingClientRect();
      if (r.bottom > top + 1) {
        anchor.current = { key: elKey(el), top: r.top - top };
        return;
      }
    }
    anchor.current = null;
  };

  /** report tells the view where the reader is, when it changed. */
  const report = (s: HTMLElement) => {
    const below = s.scrollHeight - s.scrollTop - s.clientHeight;
    const atEnd = win.current.hi === null;
    let newAbove = false;
    if (newKey !== null) {
      const ni = index.get(newKey)!;
      const line = ref.current?.querySelector<HTMLElement>(":scope > .new-divider");
      if (ni < range.current.lo) newAbove = true;
      else if (line) newAbove = line.getBoundingClientRect().bottom < s.getBoundingClientRect().top + 1;
    }
    const st: ScrollState = { atBottom: atEnd && below < 80, away: !atEnd || below > s.clientHeight / 2, newAbove, hasNew: newKey !== null };
    const k = JSON.stringify(st);
    if (k === lastState.current) return;
    lastState.current = k;
    p.onScrollState?.(st);
  };

  /** fill grows the window towards an end of it the reader nears; reports whether it did. */
  const fill = (s: HTMLElement): boolean => {
    const { lo, hi, n } = range.current;
    if (s.clientHeight === 0) return false; // not laid out (hidden): nothing is near
    const margin = Math.max(600, s.clientHeight * 1.5);
    const above = s.scrollTop;
    const below = s.scrollHeight - s.scrollTop - s.clientHeight;
    const cur = itemsRef.current;
    if (above < margin && lo > 0) {
      const from = Math.max(0, lo - STEP);
      const to = Math.min(hi, from + MAX_RENDERED - 1);
      win.current = { lo: cur[from]!.key, hi: to >= n - 1 ? null : cur[to]!.key };
      stick.current = false;
      return true;
    }
    if (below < margin && hi < n - 1) {
      const to = Math.min(n - 1, hi + STEP);
      const from = Math.max(lo, to - MAX_RENDERED + 1);
      win.current = { lo: cur[from]!.key, hi: to >= n - 1 ? null : cur[to]!.key };
      return true;
    }
    return false;
  };
  const itemsRef = useRef(items);
  itemsRef.current = items;

  const onScroll = () => {
    const s = scrollerOf(ref.current);
    if (!s) return;
    measure();
    const below = s.scrollHeight - s.scrollTop - s.clientHeight;
    stick.current = win.current.hi === null && below < 80;
    report(s);
    fills.current = 0;
    if (fill(s)) rerender((x) => x + 1);
    else if (s.scrollTop < 40 && range.current.lo === 0) p.onTop?.();
  };
  const onScrollRef = useRef(onScroll);
  onScrollRef.current = onScroll;
  useEffect(() => {
    const s = scrollerOf(ref.current);
    if (!s) return;
    const f = () => onScrollRef.current();
    s.addEventListener("scroll", f, { passive: true });
    return () => s.removeEventListener("scroll", f);
  }, []);

  // After each render: the message asked for into view, or the newest when
  // following, or the anchor where it was; then the window filled.
  useLayoutEffect(() => {
    const s = scrollerOf(ref.current);
    if (!s) return;
    const w = want.current;
    const el = w ? find(w.key) : null;
    if (w && el) {
      want.current = null;
      const top = s.getBoundingClientRect().top;
      const r = el.getBoundingClientRect();
      if (w.block === "new") {
        const line = ref.current?.querySelector<HTMLElement>(":scope > .new-divider");
        s.scrollTop += (line ?? el).getBoundingClientRect().top - top - 8;
      } else if (w.block === "center") s.scrollTop += r.top - top - Math.max(0, (s.clientHeight - r.height) / 2);
      else if (r.top < top) s.scrollTop += r.top - top;
      else if (r.bottom > top + s.clientHeight) s.scrollTop += r.bottom - top - s.clientHeight;
      stick.current = win.current.hi === null && s.scrollHeight - s.scrollTop - s.clientHeight < 80;
      if (w.focus) el.focus({ preventScroll: true });
      if (w.highlight) {
        el.classList.add("highlight");
        setTimeout(() => el.classList.remove("highlight"), HIGHLIGHT_MS);
      }
      if (target.value?.list === p.id && target.value.id === w.key) target.value = null;
      // Whoever follows this scroller's scrolling learns it now, before
      // their own layout effects run.
      s.dispatchEvent(new Event("scroll"));
    } else if (stick.current) {
      s.scrollTop = s.scrollHeight;
    } else if (anchor.current) {
      const a = find(anchor.current.key);
      if (a) {
        const d = a.getBoundingClientRect().top - s.getBoundingClientRect().top - anchor.current.top;
        if (Math.abs(d) >= 1) s.scrollTop += d;
      }
    }
    measure();
    report(s);
    // (a few times in a row at most: the next scroll asks again)
    if (fills.current < 4 && fill(s)) {
      fills.current++;
      rerender((x) => x + 1);
    }
  });

  if (p.handle) {
    p.handle.current = {
      toBottom(focus) {
        win.current = { lo: null, hi: null };
        stick.current = true;
        const last = items[n - 1];
        if (focus && last) want.current = { key: last.key, focus: true, highlight: false, block: "nearest" };
        const s = scrollerOf(ref.current);
        if (s) s.scrollTop = s.scrollHeight;
        rerender((x) => x + 1);
      },
      revealNew() {
        if (newKey === null) return false;
        place(index.get(newKey)!);
        stick.current = false;
        want.current = { key: newKey, focus: true, highlight: false, block: "new" };
        rerender((x) => x + 1);
        return true;
      },
      reveal(id, how = {}) {
        const i = index.get(id);
        if (i === undefined) return false;
        place(i);
        stick.current = false;
        want.current = { key: id, focus: !!how.focus, highlight: !!how.highlight, block: "center" };
        rerender((x) => x + 1);
        return true;
      },
    };
  }

  /** go moves the keyboard to message i, bringing it into the window first. */
  const go = (i: number) => {
    const it = items[i];
    if (!it) return;
    if (i >= lo && i <= hi) {
      const el = find(it.key);
      if (el) {
        el.focus();
        return;
      }
    }
    place(i);
    stick.current = false;
    want.current = { key: it.key, focus: true, highlight: false, block: "nearest" };
    rerender((x) => x + 1);
  };

  const onKeyDown = (ev: KeyboardEvent) => {
    const target = ev.target as HTMLElement;
    const li = target.closest<HTMLElement>(".message");
    if (!li || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (target === li) {
      const i = index.get(elKey(li));
      if (i === undefined) return;
      let next = -1;
      if (ev.key === "ArrowUp") next = Math.max(0, i - 1);
      else if (ev.key === "ArrowDown") next = Math.min(n - 1, i + 1);
      else if (ev.key === "Home") next = 0;
      else if (ev.key === "End") next = n - 1;
      else if (ev.key === "Enter") {
        li.classList.add("show-actions");
        // In: to its actions first (the author's buttons come before them).
        (controls(li).find((c) => c.closest(".actions")) ?? controls(li)[0])?.focus();
        ev.preventDefault();
        return;
      }
      if (next >= 0) {
        ev.preventDefault();
        go(next);
      }
      return;
    }
    if (target.tagName === "TEXTAREA") return;
    if (ev.key === "Escape") {
      ev.preventDefault();
      li.classList.remove("show-actions");
      li.focus();
    } else if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
      const all = controls(li);
      const i = all.indexOf(target);
      const next = all[(i + (ev.key === "ArrowRight" ? 1 : all.length - 1)) % all.length];
      if (next) {
        ev.preventDefault();
        next.focus();
      }
    }
  };

  const onFocusIn = (ev: FocusEvent) => {
    const li = (ev.target as HTMLElement).closest<HTMLElement>(".message");
    // Focus scrolls at once, its scroll event comes later: where the
    // reader is now (at the bottom or not, the anchor) is taken before the
    // re-render below, which would otherwise put the view back.
    const s = scrollerOf(ref.current);
    if (s) {
      stick.current = win.current.hi === null && s.scrollHeight - s.scrollTop - s.clientHeight < 80;
      measure();
    }
    const key = li ? elKey(li) : null;
    if (key && index.has(key) && key !== active) setActive(key);
  };

  // A link to a room or a message of this client opens here, not in a new tab.
  const onClick = (ev: MouseEvent) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
    const a = (ev.target as HTMLElement).closest<HTMLAnchorElement>(".body a[href]");
    const hash = a ? inAppLink(a) : null;
    if (!hash) return;
    ev.preventDefault();
    location.hash = hash;
  };
  // A long touch opens a message's actions (there is no hover on a phone).
  const onTouchStart = (ev: TouchEvent) => {
    const li = (ev.target as HTMLElement).closest<HTMLElement>(".message");
    clearTimeout(press.current);
    if (!li) return;
    press.current = window.setTimeout(() => {
      for (const other of messages()) if (other !== li) other.classList.remove("show-actions");
      if (openActionsMenu(li)) return;
      li.classList.add("show-actions");
      controls(li).find((c) => c.closest(".actions"))?.focus();
    }, LONG_PRESS);
  };
  const cancelPress = () => clearTimeout(press.current);

  return (
    <div
      id={p.id}
      ref={ref}
      class="messages"
      role="log"
      aria-label={p.label}
      onKeyDown={onKeyDown}
      onFocusIn={onFocusIn}
      onClick={onClick}
      onTouchStart={onTouchStart}
      onTouchEnd={cancelPress}
      onTouchMove={cancelPress}
      onTouchCancel={cancelPress}
      onContextMenu={(ev) => {
        if ((ev.target as HTMLElement).closest(".message") && matchMedia("(pointer: coarse)").matches) ev.preventDefault();
      }}
    >
      {withDividers(
        shown,
        p.me.id,
        newAfter,
        (i, grouped) => (
        <Message
          grouped={grouped}
          key={i.key}
          m={i.m}
          me={p.me.id}
          member={p.member}
          moderator={p.moderator}
          names={p.names}
          inThread={p.inThread}
          threadNew={p.threadNew?.(i.m)}
          tabIndex={i.key === activeKey ? 0 : -1}
          mentionsMe={mentionsUser(i.m, p.me.id)}
          pending={i.pending}
        />
        ),
        { before: items[lo - 1]?.m ?? null, newKey },
      )}
      {p.children}
    </div>
  );
}
