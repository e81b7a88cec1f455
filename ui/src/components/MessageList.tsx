// A list of messages as a log: one message is in the Tab order at a time
// (roving tabindex); ArrowUp/ArrowDown/Home/End move between messages,
// Enter goes into a message's controls, ArrowLeft/ArrowRight move among
// them, Escape comes back out. A touch held for 500 ms on a message shows
// its actions.

import type { ComponentChildren, VNode } from "preact";
import { dayLabel, t } from "../i18n";
import { useRef, useState } from "preact/hooks";
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
}

export const LONG_PRESS = 500; // ms

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
): VNode[] {
  const out: VNode[] = [];
  let lastDay = "";
  let prev: Msg | null = null;
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
    if (!marked && !i.pending && m.seq > newAfter && m.author.id !== me) {
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
  const ref = useRef<HTMLDivElement>(null);
  const press = useRef(0);

  const items: { key: string; m: Msg; pending?: OutboxEntry }[] = p.messages.map((m) => ({ key: keyOf(m), m }));
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
  const activeKey = active !== null && items.some((i) => i.key === active) ? active : (items[items.length - 1]?.key ?? null);

  const messages = () => [...(ref.current?.querySelectorAll<HTMLElement>(":scope > .message") ?? [])];

  const onKeyDown = (ev: KeyboardEvent) => {
    const target = ev.target as HTMLElement;
    const li = target.closest<HTMLElement>(".message");
    if (!li || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (target === li) {
      const all = messages();
      const i = all.indexOf(li);
      let next: HTMLElement | undefined;
      if (ev.key === "ArrowUp") next = all[Math.max(0, i - 1)];
      else if (ev.key === "ArrowDown") next = all[Math.min(all.length - 1, i + 1)];
      else if (ev.key === "Home") next = all[0];
      else if (ev.key === "End") next = all[all.length - 1];
      else if (ev.key === "Enter") {
        li.classList.add("show-actions");
        controls(li)[0]?.focus();
        ev.preventDefault();
        return;
      }
      if (next) {
        ev.preventDefault();
        next.focus();
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
    const key = li ? items.find((i) => (i.pending ? li.dataset.clientId === i.pending.client_id : li.dataset.seq === String(i.m.seq)))?.key : null;
    if (key && key !== active) setActive(key);
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
      onTouchStart={onTouchStart}
      onTouchEnd={cancelPress}
      onTouchMove={cancelPress}
      onTouchCancel={cancelPress}
      onContextMenu={(ev) => {
        if ((ev.target as HTMLElement).closest(".message") && matchMedia("(pointer: coarse)").matches) ev.preventDefault();
      }}
    >
      {withDividers(items, p.me.id, p.newAfter ?? -1, (i, grouped) => (
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
      ))}
      {p.children}
    </div>
  );
}
