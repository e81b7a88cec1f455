// A message's actions: a toolbar shown on hover or focus (reply in thread,
// react, more) and the "more actions" menu (the menu button pattern) with
// reply in thread, react, copy link, edit, delete and mark unread as the
// rules allow (the author edits; the author or a moderator deletes;
// members mark top-level messages unread). The menu opens by mouse, by
// keyboard (the toolbar's More button, or ".", Shift+F10 or the context
// menu key on a focused message) and by a long press (openActionsMenu,
// which the message list calls): by touch or on a narrow screen it is a
// bottom sheet.

import { createPortal } from "preact/compat";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { changeMessage, errorText, markUnread } from "../client";
import { t } from "../i18n";
import { permalink, roomHash } from "../route";
import { announcement } from "../state/view";
import { EmojiPicker } from "./EmojiPicker";
import type { MessageProps } from "./Message";
import "../styles/actions.css";

const OPEN_EVENT = "hanashi-actions";

/**
 * openActionsMenu opens the actions menu of the message element li as a
 * bottom sheet (after a long press). It reports false when the message
 * has no menu (a pending send, a tombstone).
 */
export function openActionsMenu(li: HTMLElement): boolean {
  const ev = new CustomEvent(OPEN_EVENT, { cancelable: true });
  return !li.dispatchEvent(ev);
}

/** isMenuKey says whether a key pressed on a focused message opens its menu. */
export function isMenuKey(ev: KeyboardEvent): boolean {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return false;
  return ev.key === "ContextMenu" || (ev.key === "F10" && ev.shiftKey) || (ev.key === "." && !ev.shiftKey);
}

/** copyText puts text on the clipboard, the old way when the Clipboard API is missing or refused. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // refused (no permission, the page not focused): try the old way
  }
  const back = document.activeElement as HTMLElement | null;
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "visually-hidden";
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  back?.focus();
  return ok;
}

export interface MenuItem {
  /** the data-action attribute */
  action: string;
  label: string;
  /** a link (reply in thread) rather than a button */
  href?: string;
}

/** menuItems is what the menu offers on m, in order, as the rules allow. */
export function menuItems(p: Pick<MessageProps, "m" | "me" | "member" | "moderator" | "inThread">, armed = false): MenuItem[] {
  const { m } = p;
  const items: MenuItem[] = [];
  const mine = m.author.id === p.me;
  if (p.member && !p.inThread && !m.thread && m.kind !== "room") {
    items.push({ action: "reply", label: t("actions.reply"), href: roomHash(m.room, m.id) });
  }
  if (p.member) items.push({ action: "react", label: t("actions.react") });
  items.push({ action: "copy-link", label: t("actions.copyLink") });
  if (p.member && mine && m.kind !== "room") items.push({ action: "edit", label: t("actions.edit") });
  if (p.member && (mine || p.moderator)) {
    items.push({ action: "delete", label: armed ? t("actions.deleteConfirm") : t("actions.delete") });
  }
  if (p.member && !m.thread) items.push({ action: "mark-unread", label: t("actions.markUnread") });
  return items;
}

interface MenuState {
  sheet: boolean;
  /** the item focused on opening: 0 the first, -1 the last */
  focus: number;
}

let menus = 0;

export function Actions(p: MessageProps & { startEdit(): void }) {
  const { m } = p;
  const [picker, setPicker] = useState(false);
  const [armed, setArmed] = useState(false);
  const [menu, setMenu] = useState<MenuState | null>(null);
  const [, setPlace] = useState(0); // bumped to place the popover again
  const [menuID] = useState(() => `actions-menu-${++menus}`);
  const bar = useRef<HTMLDivElement>(null);
  const more = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const keyOpened = useRef(0);
  /** what had focus when the menu opened: it gets it back */
  const opener = useRef<HTMLElement | null>(null);
  const openMenu = (sheet: boolean, focus = 0) => {
    opener.current = document.activeElement as HTMLElement | null;
    setMenu({ sheet, focus });
  };

  useEffect(() => {
    if (!armed) return;
    const timer = setTimeout(() => setArmed(false), 4000);
    return () => clearTimeout(timer);
  }, [armed]);

  // A message being sent, or deleted, has no actions.
  const shown = !m.deleted && !!m.id && !m.provisional;

  // The message itself: a long press and the keys that open the menu.
  useEffect(() => {
    const li = bar.current?.closest<HTMLElement>(".message");
    if (!li) return;
    const onOpen = (ev: Event) => {
      ev.preventDefault();
      swallowLiftClick();
      openMenu(true);
    };
    const onKey = (ev: KeyboardEvent) => {
      if (ev.target !== li || !isMenuKey(ev)) return;
      ev.preventDefault();
      ev.stopPropagation();
      keyOpened.current = Date.now();
      openMenu(narrow());
    };
    // The context menu key also asks the browser for its own menu.
    const onContext = (ev: Event) => {
      if (Date.now() - keyOpened.current < 1000) ev.preventDefault();
    };
    li.addEventListener(OPEN_EVENT, onOpen);
    li.addEventListener("keydown", onKey);
    li.addEventListener("contextmenu", onContext);
    return () => {
      li.removeEventListener(OPEN_EVENT, onOpen);
      li.removeEventListener("keydown", onKey);
      li.removeEventListener("contextmenu", onContext);
    };
  }, [shown]);

  const open = menu !== null;
  const items = menuItems(p, armed);

  // Focus the item asked for once the menu is there.
  useLayoutEffect(() => {
    if (!menu) return;
    const all = menuEls(list.current);
    (menu.focus < 0 ? all[all.length - 1] : all[menu.focus])?.focus();
  }, [menu]);

  // A click elsewhere closes; the list scrolled under a popover (a new
  // message came) or the window resized moves it with its button, or
  // closes it when the button is gone from sight.
  useEffect(() => {
    if (!menu) return;
    const outside = (ev: Event) => {
      const el = ev.target as Node;
      if (list.current?.contains(el) || more.current?.contains(el)) return;
      close(false);
    };
    const scrolled = (ev: Event) => {
      if (menu.sheet || list.current?.contains(ev.target as Node)) return;
      const r = more.current?.getBoundingClientRect();
      if (!r || r.bottom < 0 || r.top > innerHeight) close(false);
      else setPlace((n) => n + 1);
    };
    document.addEventListener("pointerdown", outside, true);
    document.addEventListener("scroll", scrolled, true);
    window.addEventListener("resize", scrolled);
    return () => {
      document.removeEventListener("pointerdown", outside, true);
      document.removeEventListener("scroll", scrolled, true);
      window.removeEventListener("resize", scrolled);
    };
  }, [menu]);

  if (!shown) return null;
  const canReply = p.member && !p.inThread && !m.thread && m.kind !== "room";
  const message = () => bar.current?.closest<HTMLElement>(".message") ?? null;

  /** close closes the menu; focus goes back where it came from unless told otherwise. */
  function close(refocus: boolean) {
    setMenu(null);
    setArmed(false);
    if (!refocus) return;
    // Back where it came from: the message or its More button; after a
    // long press, the message.
    const back = opener.current;
    const li = message();
    if (back && back.isConnected && li?.contains(back)) back.focus();
    else if (more.current && more.current.getClientRects().length > 0) more.current.focus();
    else li?.focus();
  }

  async function run(action: string) {
    switch (action) {
      case "reply":
        close(false); // the link's own navigation opens the thread
        return;
      case "react":
        close(true);
        setPicker(true);
        return;
      case "copy-link": {
        close(true);
        const url = permalink(m.room, m.id!, m.thread);
        if (await copyText(url)) announcement.value = t("actions.linkCopied");
        else window.prompt(t("actions.copyManual"), url);
        return;
      }
      case "edit":
        close(false);
        p.startEdit();
        return;
      case "delete":
        // Two steps: the first arms the item, so one slip deletes nothing.
        if (!armed) {
          setArmed(true);
          announcement.value = t("actions.deleteArmed");
          return;
        }
        close(false);
        message()?.focus();
        changeMessage(m, "delete");
        return;
      case "mark-unread":
        close(true);
        try {
          await markUnread(m);
        } catch (err) {
          announcement.value = errorText(err);
        }
        return;
    }
  }

  const onMenuKey = (ev: KeyboardEvent) => {
    const all = menuEls(list.current);
    const i = all.indexOf(document.activeElement as HTMLElement);
    let next: HTMLElement | undefined;
    switch (ev.key) {
      case "ArrowDown":
        next = all[(i + 1) % all.length];
        break;
      case "ArrowUp":
        next = all[(i - 1 + all.length) % all.length];
        break;
      case "Home":
      case "PageUp":
        next = all[0];
        break;
      case "End":
      case "PageDown":
        next = all[all.length - 1];
        break;
      case "Escape":
      case "Tab":
        close(true);
        break;
      case " ":
        // A link (reply) takes Enter only: Space acts on it too.
        (document.activeElement as HTMLElement | null)?.click();
        break;
      case "Enter":
        ev.stopPropagation();
        return; // the item's own click
      default:
        if (ev.key.length === 1 && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
          // Type-ahead: the next item whose label starts with the letter.
          const c = ev.key.toLocaleLowerCase();
          for (let k = 1; k <= all.length; k++) {
            const el = all[(i + k) % all.length];
            if (el?.textContent?.trim().toLocaleLowerCase().startsWith(c)) {
              next = el;
              break;
            }
          }
          if (!next) return;
        } else return;
    }
    ev.preventDefault();
    ev.stopPropagation();
    next?.focus();
  };

  const onMoreKey = (ev: KeyboardEvent) => {
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      ev.stopPropagation();
      openMenu(narrow(), ev.key === "ArrowUp" ? -1 : 0);
    }
  };

  let popup = null;
  if (menu) {
    const style: Record<string, string> = {};
    if (!menu.sheet && more.current) {
      // Beside the button, below it or above when the room is there.
      const r = more.current.getBoundingClientRect();
      style.right = `${Math.max(8, innerWidth - r.right)}px`;
      if (r.bottom < innerHeight * 0.55) style.top = `${r.bottom + 4}px`;
      else style.bottom = `${Math.max(8, innerHeight - r.top + 4)}px`;
    }
    popup = createPortal(
      <>
        {menu.sheet && <div class="actions-backdrop" onClick={() => close(true)} />}
        <div
          ref={list}
          id={menuID}
          role="menu"
          aria-label={t("actions.menu")}
          class={menu.sheet ? "actions-menu sheet" : "actions-menu"}
          style={style}
          onKeyDown={onMenuKey}
        >
          {items.map((it) => {
            const danger = it.action === "delete";
            const cls = danger && armed ? "menu-item danger armed" : danger ? "menu-item danger" : "menu-item";
            return it.href ? (
              <a key={it.action} role="menuitem" tabIndex={-1} class={cls} data-action={it.action} href={it.href} onClick={() => void run(it.action)}>
                {it.label}
              </a>
            ) : (
              <button
                key={it.action}
                type="button"
                role="menuitem"
                tabIndex={-1}
                class={cls}
                data-action={it.action}
                data-armed={danger ? String(armed) : undefined}
                onClick={() => void run(it.action)}
              >
                {it.label}
              </button>
            );
          })}
        </div>
      </>,
      document.body,
    );
  }

  return (
    <div
      ref={bar}
      class={(p.isRoot ? "actions root-actions" : "actions") + (open ? " menu-open" : "")}
      role="toolbar"
      aria-label={t("message.actions")}
    >
      {canReply && (
        <a class="act" data-action="reply" href={roomHash(m.room, m.id)} tabIndex={-1} title={t("action.replyTitle")}>
          {t("action.reply")}
        </a>
      )}
      {p.member && (
        <button
          type="button"
          class="act"
          data-action="react"
          tabIndex={-1}
          aria-expanded={picker}
          title={t("action.reactTitle")}
          onClick={() => setPicker(!picker)}
        >
          {t("action.react")}
        </button>
      )}
      <button
        ref={more}
        type="button"
        class="act more"
        data-action="more"
        tabIndex={-1}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuID : undefined}
        aria-label={t("actions.more")}
        title={t("actions.moreTitle")}
        onClick={(ev) => {
          if (open) return close(true);
          // Safari does not focus a clicked button: the menu returns focus to it all the same.
          ev.currentTarget.focus();
          openMenu(narrow());
        }}
        onKeyDown={onMoreKey}
      >
        <span aria-hidden="true">⋯</span>
      </button>
      {picker && (
        <EmojiPicker
          chosen={(e) => m.reactions?.find((r) => r.emoji === e)?.mine ?? false}
          onClose={() => {
            setPicker(false);
            more.current?.focus();
          }}
          onPick={(e) => {
            setPicker(false);
            const mine = m.reactions?.find((r) => r.emoji === e)?.mine ?? false;
            changeMessage(m, mine ? "unreact" : "react", e);
          }}
        />
      )}
      {popup}
    </div>
  );
}

/**
 * swallowLiftClick cancels the click the browser makes where the finger of
 * a long press lifts: the sheet is there now, and would take it for a tap
 * on one of its items.
 */
function swallowLiftClick(): void {
  let lifted = 0;
  let timer = 0;
  const onEnd = () => {
    lifted = Date.now();
    document.removeEventListener("touchend", onEnd, true);
    timer = window.setTimeout(done, 600);
  };
  const onClick = (ev: Event) => {
    if (lifted === 0 || Date.now() - lifted < 500) {
      ev.preventDefault();
      ev.stopPropagation();
    }
    done();
  };
  const done = () => {
    clearTimeout(timer);
    document.removeEventListener("touchend", onEnd, true);
    document.removeEventListener("click", onClick, true);
  };
  document.addEventListener("touchend", onEnd, true);
  document.addEventListener("click", onClick, true);
}

/** narrow: a phone's screen, where the menu is a bottom sheet. */
function narrow(): boolean {
  return matchMedia("(max-width: 600px), (pointer: coarse)").matches;
}

function menuEls(list: HTMLElement | null): HTMLElement[] {
  return [...(list?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
}
