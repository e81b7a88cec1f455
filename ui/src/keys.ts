// Keyboard shortcuts: the table the "?" sheet lists (one place: every
// shortcut of the client is a row of SHORTCUTS), and the page-wide handler
// for those that work anywhere: Ctrl/⌘+K the quick switcher, Alt+↑/↓ the
// previous or next room as the sidebar lists them, Alt+Shift+↑/↓ the
// previous or next room with unread messages, Escape marks the room read,
// "?" the sheet. The handler listens on the document, after every
// component had its say: a key a component used (defaultPrevented) is left
// alone, and so is every key an input method is composing with.

import { effect, signal } from "@preact/signals";
import { markRoomRead, navigate } from "./client";
import { t, type Key } from "./i18n";
import { roomHash } from "./route";
import { feeds } from "./state/feeds";
import { members, rooms, title } from "./state/rooms";
import { me } from "./state/session";
import { announcement, current } from "./state/view";

// ---- the table -------------------------------------------------------------

/**
 * A key of a combination. "Mod" is ⌘ on Apple's systems and Ctrl
 * elsewhere; the others are KeyboardEvent.key values.
 */
export type KeyName =
  | "Mod"
  | "Alt"
  | "Shift"
  | "ArrowUp"
  | "ArrowDown"
  | "ArrowLeft"
  | "ArrowRight"
  | "Home"
  | "End"
  | "Enter"
  | "Escape"
  | "Tab"
  | "F10"
  | "ContextMenu"
  | "?"
  | "K"
  | "."
  | "@"
  | "#"
  | ":";

export type Group = "navigation" | "messages" | "composer";

export interface Shortcut {
  group: Group;
  /** what it does */
  label: Key;
  /** the combinations that do it (shown with "/" between them) */
  keys: KeyName[][];
}

/** The groups, in the order the sheet shows them. */
export const GROUPS: { id: Group; label: Key }[] = [
  { id: "navigation", label: "keys.group.navigation" },
  { id: "messages", label: "keys.group.messages" },
  { id: "composer", label: "keys.group.composer" },
];

/**
 * SHORTCUTS is every keyboard shortcut of the client, as the "?" sheet
 * lists them. The page-wide ones are handled in this file; the others by
 * their components (MessageList.tsx, Composer.tsx), which this list must
 * follow.
 */
export const SHORTCUTS: Shortcut[] = [
  { group: "navigation", label: "keys.do.switcher", keys: [["Mod", "K"]] },
  { group: "navigation", label: "keys.do.room", keys: [["Alt", "ArrowUp"], ["Alt", "ArrowDown"]] },
  { group: "navigation", label: "keys.do.unread", keys: [["Alt", "Shift", "ArrowUp"], ["Alt", "Shift", "ArrowDown"]] },
  { group: "navigation", label: "keys.do.markRead", keys: [["Escape"]] },
  { group: "navigation", label: "keys.do.sheet", keys: [["?"]] },

  { group: "messages", label: "keys.do.msgMove", keys: [["ArrowUp"], ["ArrowDown"]] },
  { group: "messages", label: "keys.do.msgEnds", keys: [["Home"], ["End"]] },
  { group: "messages", label: "keys.do.msgEnter", keys: [["Enter"]] },
  { group: "messages", label: "keys.do.msgActions", keys: [["ArrowLeft"], ["ArrowRight"]] },
  { group: "messages", label: "keys.do.msgOut", keys: [["Escape"]] },
  { group: "messages", label: "keys.do.msgMenu", keys: [["."], ["Shift", "F10"], ["ContextMenu"]] },

  { group: "composer", label: "keys.do.send", keys: [["Enter"]] },
  { group: "composer", label: "keys.do.newline", keys: [["Shift", "Enter"]] },
  { group: "composer", label: "keys.do.editLast", keys: [["ArrowUp"]] },
  { group: "composer", label: "keys.do.switcher", keys: [["Mod", "K"]] },
  { group: "composer", label: "keys.do.suggest", keys: [["@"], ["#"], [":"]] },
  { group: "composer", label: "keys.do.suggestMove", keys: [["ArrowUp"], ["ArrowDown"]] },
  { group: "composer", label: "keys.do.suggestTake", keys: [["Enter"], ["Tab"]] },
  { group: "composer", label: "keys.do.suggestClose", keys: [["Escape"]] },
];

/** isApple: the platform names its modifiers ⌘ ⌥ ⇧ and K goes with ⌘. */
export function isApple(): boolean {
  if (typeof navigator === "undefined") return false;
  const n = navigator as Navigator & { userAgentData?: { platform?: string } };
  return /mac|iphone|ipad|ipod/i.test(n.userAgentData?.platform || n.platform || n.userAgent || "");
}

/**
 * How a key is shown: the text on the key cap (as printed on keyboards,
 * in every language: Ctrl, Shift, Home), and what a screen reader should
 * say when that is a symbol.
 */
export function keyLabel(k: KeyName, apple = isApple()): { cap: string; spoken?: string } {
  switch (k) {
    case "Mod":
      return apple ? { cap: "⌘", spoken: t("keys.key.command") } : { cap: "Ctrl" };
    case "Alt":
      return apple ? { cap: "⌥", spoken: t("keys.key.option") } : { cap: "Alt" };
    case "Shift":
      return apple ? { cap: "⇧", spoken: t("keys.key.shift") } : { cap: "Shift" };
    case "ArrowUp":
      return { cap: "↑", spoken: t("keys.key.up") };
    case "ArrowDown":
      return { cap: "↓", spoken: t("keys.key.down") };
    case "ArrowLeft":
      return { cap: "←", spoken: t("keys.key.left") };
    case "ArrowRight":
      return { cap: "→", spoken: t("keys.key.right") };
    case "Escape":
      return { cap: "Esc" };
    case "ContextMenu":
      return { cap: "Menu", spoken: t("keys.key.menu") };
    default:
      return { cap: k };
  }
}

/** ariaKeys is a combination as aria-keyshortcuts spells it ("Control+K"). */
export function ariaKeys(combo: KeyName[], apple = isApple()): string {
  return combo.map((k) => (k === "Mod" ? (apple ? "Meta" : "Control") : k)).join("+");
}

// ---- what the shortcuts open -------------------------------------------------

/** the quick switcher (components/QuickSwitcher.tsx) is open */
export const switcherOpen = signal(false);
/** the "?" sheet (components/Shortcuts.tsx) is open */
export const sheetOpen = signal(false);

const CHAR_KEYS = "hanashi.charKeys";
function storedCharKeys(): boolean {
  try {
    return localStorage.getItem(CHAR_KEYS) !== "off";
  } catch {
    return true;
  }
}
/**
 * charKeys: shortcuts of one printable character ("?") are on. They can be
 * turned off in the sheet (WCAG 2.1.4): speech input types such
 * characters.
 */
export const charKeys = signal(storedCharKeys());
export function setCharKeys(on: boolean): void {
  charKeys.value = on;
  try {
    localStorage.setItem(CHAR_KEYS, on ? "on" : "off");
  } catch {
    // private mode: for this page's life
  }
}

// ---- moving between rooms ----------------------------------------------------

/**
 * step is the room dir (-1 up, 1 down) places from current in order: with
 * no current room, the first (down) or the last (up); at either end it
 * stays (null). With `only`, the next one it accepts, around the ends
 * (the current room never counts).
 */
export function step(order: readonly number[], current: number | null, dir: 1 | -1, only?: (id: number) => boolean): number | null {
  if (order.length === 0) return null;
  const at = current === null ? -1 : order.indexOf(current);
  if (!only) {
    if (at < 0) return dir > 0 ? order[0]! : order[order.length - 1]!;
    const next = at + dir;
    return next >= 0 && next < order.length ? order[next]! : null;
  }
  const n = order.length;
  const from = at < 0 ? (dir > 0 ? -1 : n) : at;
  for (let i = 1; i <= n; i++) {
    const id = order[(((from + dir * i) % n) + n) % n]!;
    if (id !== current && only(id)) return id;
  }
  return null;
}

/** sidebarOrder is the rooms as the sidebar shows them: rooms, then direct messages. */
export function sidebarOrder(): number[] {
  return [...document.querySelectorAll<HTMLElement>("#sidebar a.room[data-room-id]")].map((a) => Number(a.dataset.roomId));
}

function unread(id: number): boolean {
  if (!rooms.value.get(id)?.member) return false;
  const f = feeds.get(id);
  return !!f && (f.unread > 0 || f.mentions > 0);
}

function roomName(id: number): string {
  const r = rooms.value.get(id);
  return r ? title(r, members.value.get(id), me.value?.id) : "";
}

/** go opens a room from a shortcut; the keyboard stays in the composer, or goes there. */
function go(id: number): void {
  // The count before the room is opened (and read).
  const f = feeds.get(id);
  const n = f && rooms.value.get(id)?.member ? f.unread : 0;
  navigate(roomHash(id));
  announcement.value = n > 0 ? t("keys.nowInUnread", { room: roomName(id), count: n }) : t("keys.nowIn", { room: roomName(id) });
  // The element that had the focus may have gone with the last room.
  requestAnimationFrame(() => {
    const a = document.activeElement;
    if (a && a !== document.body && a.isConnected) return;
    const c = document.getElementById("composer") as HTMLTextAreaElement | null;
    if (c && !c.disabled) c.focus();
    else document.getElementById("main")?.focus();
  });
}

// ---- the recently visited rooms (the quick switcher's order) -----------------

export const RECENT_MAX = 20;

/** visit puts id first in the recent list. */
export function visit(list: readonly number[], id: number): number[] {
  return [id, ...list.filter((x) => x !== id)].slice(0, RECENT_MAX);
}

const recentKey = (user: string) => `hanashi.recent.${user}`;

export function loadRecent(user: string): number[] {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(recentKey(user)) ?? "[]");
    return Array.isArray(v) ? v.filter((x): x is number => typeof x === "number").slice(0, RECENT_MAX) : [];
  } catch {
    return [];
  }
}

export function saveRecent(user: string, list: readonly number[]): void {
  try {
    localStorage.setItem(recentKey(user), JSON.stringify(list));
  } catch {
    // private mode: the list lasts as long as the page
  }
}

// ---- the handler -----------------------------------------------------------------

/** Where Escape closes or cancels something: Escape there is not "mark read". */
const ESCAPE_OWNERS =
  'dialog, [role="dialog"], [role="alertdialog"], [role="menu"], [role="menubar"], [role="listbox"], [role="tooltip"], .edit-form, #thread, #members-panel, .picker, .sidebar.open';
/** A popup open anywhere on the page: its Escape comes first. */
const OPEN_POPUPS = 'dialog[open], [role="dialog"]:not([hidden]), [role="alertdialog"]:not([hidden]), [role="menu"]:not([hidden]), [role="listbox"]:not([hidden])';

function escapeOwned(target: Element): boolean {
  if (target.closest(ESCAPE_OWNERS)) return true;
  // A combobox or a button whose popup is open (a disclosure such as the
  // members toggle is not a popup: Escape there still marks read).
  if (target.matches('[aria-expanded="true"]:is([role="combobox"], [aria-haspopup]:not([aria-haspopup="false"]))')) return true;
  return [...document.querySelectorAll<HTMLElement>(OPEN_POPUPS)].some((el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  });
}

/** typing: a key there types a character. */
function typing(target: Element): boolean {
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) return !["checkbox", "radio", "button", "submit", "reset", "file", "range", "color"].includes(target.type);
  return target instanceof HTMLElement && target.isContentEditable;
}

/** A modal dialog open other than the switcher: Ctrl+K does not open over it. */
function otherModal(): boolean {
  return !!document.querySelector("dialog[open]:not(#switcher)");
}

function isSwitcherKey(ev: KeyboardEvent, apple: boolean): boolean {
  const mod = apple ? ev.metaKey && !ev.ctrlKey : ev.ctrlKey && !ev.metaKey;
  // The letter K of the layout; the key where QWERTY has K when the
  // layout types no Latin letter there (Cyrillic, Greek, kana input).
  const k = ev.key.toLowerCase();
  return mod && !ev.altKey && !ev.shiftKey && (k === "k" || (!/^[a-z]$/.test(k) && ev.code === "KeyK"));
}

/** onKey is the page-wide handler (see the top of the file). */
export function onKey(ev: KeyboardEvent): void {
  if (ev.isComposing || ev.keyCode === 229 || !me.value) return;
  const target = ev.target instanceof Element ? ev.target : document.body;
  const apple = isApple();

  if (isSwitcherKey(ev, apple)) {
    if (ev.defaultPrevented || otherModal()) return;
    ev.preventDefault();
    if (ev.repeat) return; // a held key does not flicker it open and shut
    switcherOpen.value = !switcherOpen.value;
    return;
  }
  if (ev.defaultPrevented) return;

  if (ev.altKey && !ev.ctrlKey && !ev.metaKey && (ev.key === "ArrowUp" || ev.key === "ArrowDown")) {
    // Alt+↓ opens a select's or a combobox's list.
    if (target instanceof HTMLSelectElement || (target.getAttribute("role") === "combobox" && !(target instanceof HTMLTextAreaElement))) return;
    if (document.querySelector("dialog[open]")) return;
    ev.preventDefault();
    const dir = ev.key === "ArrowUp" ? -1 : 1;
    const id = step(sidebarOrder(), current.value, dir, ev.shiftKey ? unread : undefined);
    if (id !== null) go(id);
    else if (ev.shiftKey) announcement.value = t("keys.noUnread");
    return;
  }

  if (ev.key === "Escape" && !ev.altKey && !ev.ctrlKey && !ev.metaKey && !ev.shiftKey) {
    if (escapeOwned(target)) return;
    const id = current.value;
    if (id !== null && markRoomRead(id)) announcement.value = t("keys.markedRead", { room: roomName(id) });
    return;
  }

  if (ev.key === "?" && !ev.ctrlKey && !ev.metaKey && !ev.altKey && charKeys.value && !typing(target)) {
    if (document.querySelector("dialog[open]")) return;
    ev.preventDefault();
    sheetOpen.value = true;
  }
}

/**
 * installKeys starts the page-wide handler and the list of recently
 * visited rooms (the quick switcher's order); it returns what stops them.
 */
export function installKeys(): () => void {
  document.addEventListener("keydown", onKey);
  const stopRecent = effect(() => {
    const id = current.value;
    const user = me.value?.id;
    if (id === null || !user) return;
    saveRecent(user, visit(loadRecent(user), id));
  });
  return () => {
    document.removeEventListener("keydown", onKey);
    stopRecent();
  };
}
