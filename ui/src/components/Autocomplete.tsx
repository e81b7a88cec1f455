// The composer's autocomplete: a listbox above the composer for "@" (the
// room's members, then @room, then anybody the server finds), "#" (the
// rooms one can see) and ":" (emoji, loaded on first use). The textarea is
// the combobox (aria-expanded, aria-controls, aria-activedescendant); the
// keyboard stays in it. The logic is in ../complete.ts.

import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { API } from "../api";
import { accept, insertion, LIMIT, people, rooms as roomEntries, trigger, type Entry, type Person, type Trigger } from "../complete";
import { searchEmoji } from "../emoji";
import { t } from "../i18n";
import { presence } from "../state/presence";
import { members, rooms } from "../state/rooms";
import { away, me } from "../state/session";
import { current } from "../state/view";
import { Avatar } from "./Avatar";
import "../styles/writing.css";

/** ms of quiet typing before the server is asked for more people */
const ASK_AFTER = 200;

interface Shown {
  trigger: Trigger;
  entries: Entry[];
  active: number;
}

function collate(a: string, b: string): number {
  return a.localeCompare(b);
}

function key(e: Entry): string {
  switch (e.kind) {
    case "person":
      return "p" + e.id;
    case "everyone":
      return "everyone";
    case "room":
      return "r" + e.id;
    case "emoji":
      return "e" + e.unicode;
  }
}

export interface Completion {
  /** attributes for the textarea (the combobox) */
  aria: Record<string, string | boolean | undefined>;
  /** the listbox, to render inside the composer */
  list: JSX.Element;
  /** keydown: true when the autocomplete used the key */
  keyDown(ev: KeyboardEvent, composing: boolean): boolean;
  /** the text or the caret moved (input, click, arrow keys) */
  update(composing: boolean): void;
  close(): void;
}

/** useCompletion is the autocomplete of the textarea in ref; id names its listbox. */
export function useCompletion(ref: { current: HTMLTextAreaElement | null }, id: string, onChange: () => void): Completion {
  const [shown, setShown] = useState<Shown | null>(null);
  // The trigger Escape closed, or an entry was accepted for: it stays
  // closed until another trigger starts.
  const dismissed = useRef<{ start: number; kind: string } | null>(null);
  const found = useRef(new Map<string, Person[]>()); // people the server found, by query
  const asking = useRef<AbortController | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const generation = useRef(0);
  const shownRef = useRef<Shown | null>(null);
  shownRef.current = shown;

  const cancel = () => {
    if (timer.current !== null) clearTimeout(timer.current);
    timer.current = null;
    asking.current?.abort();
    asking.current = null;
  };
  useEffect(() => cancel, []);

  const show = (tr: Trigger, entries: Entry[]) => {
    if (entries.length === 0) {
      setShown(null);
      return;
    }
    const prev = shownRef.current;
    // the same entry stays chosen when the list changes under it
    let active = 0;
    if (prev && prev.trigger.start === tr.start) {
      const was = prev.entries[prev.active];
      const i = was ? entries.findIndex((e) => key(e) === key(was)) : -1;
      if (i >= 0) active = i;
    }
    setShown({ trigger: tr, entries, active });
  };

  const peopleFor = (tr: Trigger): Entry[] => {
    const room = current.value;
    const r = room === null ? undefined : rooms.value.get(room);
    const user = me.value?.id;
    const states = presence.value;
    return people({
      query: tr.query,
      members: (room === null ? undefined : members.value.get(room)) ?? [],
      others: found.current.get(tr.query.toLowerCase()),
      me: user,
      presence: (id) => (id === user ? (away.value ? "away" : "online") : (states.get(id) ?? "offline")),
      everyone: !!r && r.kind !== "direct",
      collate,
    });
  };

  const askServer = (tr: Trigger, gen: number) => {
    const q = tr.query.toLowerCase();
    if (q === "" || found.current.has(q)) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      const ctl = new AbortController();
      asking.current = ctl;
      fetch(API + "users?q=" + encodeURIComponent(tr.query), { credentials: "same-origin", signal: ctl.signal })
        .then((res) => (res.ok ? (res.json() as Promise<{ users: Person[] }>) : null))
        .then((data) => {
          if (!data || ctl.signal.aborted) return;
          found.current.set(q, data.users);
          if (generation.current === gen) show(tr, peopleFor(tr));
        })
        .catch(() => {
          // offline, or a newer query took its place: the members are enough
        })
        .finally(() => {
          if (asking.current === ctl) asking.current = null;
        });
    }, ASK_AFTER);
  };

  const update = (composing: boolean) => {
    cancel();
    const gen = ++generation.current;
    const el = ref.current;
    if (!el || composing || el.selectionStart !== el.selectionEnd || document.activeElement !== el) {
      setShown(null);
      return;
    }
    const tr = trigger(el.value, el.selectionStart);
    const d = dismissed.current;
    if (d && (!tr || tr.start !== d.start || tr.kind !== d.kind)) dismissed.current = null;
    if (!tr || dismissed.current) {
      setShown(null);
      return;
    }
    if (tr.kind === "@") {
      const entries = peopleFor(tr);
      show(tr, entries);
      if (entries.filter((e) => e.kind === "person" && e.member).length < LIMIT) askServer(tr, gen);
    } else if (tr.kind === "#") {
      show(tr, roomEntries(rooms.value.values(), tr.query, collate));
    } else {
      searchEmoji(tr.query, LIMIT)
        .then((list) => {
          if (generation.current !== gen) return;
          show(
            tr,
            list.map((e) => ({ kind: "emoji", unicode: e.unicode, label: e.label, shortcode: e.shortcodes[0] ?? "" })),
          );
        })
        .catch(() => {
          if (generation.current === gen) setShown(null);
        });
    }
  };

  const close = () => {
    cancel();
    generation.current++;
    setShown(null);
  };

  const choose = (i: number) => {
    const s = shownRef.current;
    const el = ref.current;
    const e = s?.entries[i];
    if (!s || !el || !e) return;
    const caret = el.selectionStart;
    const done = accept(el.value, s.trigger, caret, insertion(e));
    dismissed.current = { start: s.trigger.start, kind: s.trigger.kind };
    close();
    el.focus();
    el.setSelectionRange(done.from, done.to);
    // insertText keeps the browser's undo history; setRangeText where it is missing
    let ok = false;
    try {
      ok = typeof document.execCommand === "function" && document.execCommand("insertText", false, done.insert);
    } catch {
      ok = false;
    }
    if (!ok || el.value !== done.value) {
      el.value = done.value;
      el.dispatchEvent(new Event("input", { bubbles: true }));
    }
    el.setSelectionRange(done.caret, done.caret);
    onChange();
  };

  const keyDown = (ev: KeyboardEvent, composing: boolean): boolean => {
    const s = shownRef.current;
    if (!s || composing) return false;
    const plain = !ev.shiftKey && !ev.altKey && !ev.ctrlKey && !ev.metaKey;
    const n = s.entries.length;
    switch (ev.key) {
      case "ArrowDown":
      case "ArrowUp":
        if (!plain) return false;
        setShown({ ...s, active: (s.active + (ev.key === "ArrowDown" ? 1 : n - 1)) % n });
        break;
      case "Enter":
      case "Tab":
        if (!plain) return false;
        choose(s.active);
        break;
      case "Escape":
        dismissed.current = { start: s.trigger.start, kind: s.trigger.kind };
        close();
        ev.stopPropagation();
        break;
      default:
        return false;
    }
    ev.preventDefault();
    return true;
  };

  // the active entry stays in view
  useEffect(() => {
    if (!shown) return;
    document.getElementById(`${id}-${shown.active}`)?.scrollIntoView?.({ block: "nearest" });
  }, [shown, id]);

  const open = shown !== null;
  const aria = {
    role: "combobox",
    "aria-autocomplete": "list",
    "aria-haspopup": "listbox",
    "aria-expanded": open,
    "aria-controls": id,
    "aria-activedescendant": open ? `${id}-${shown.active}` : undefined,
  };
  const count = shown?.entries.length ?? 0;
  const list = (
    <>
      <ul id={id} class="complete" role="listbox" aria-label={t("writing.suggestions")} hidden={!open}>
        {shown?.entries.map((e, i) => (
          <li
            key={key(e)}
            id={`${id}-${i}`}
            role="option"
            class="complete-item"
            aria-selected={i === shown.active}
            data-kind={e.kind}
            // the keyboard stays in the textarea
            onMouseDown={(ev) => ev.preventDefault()}
            onClick={() => choose(i)}
          >
            <Item e={e} />
          </li>
        ))}
      </ul>
      <span class="visually-hidden" aria-live="polite">
        {open ? t("writing.results", { count }) : ""}
      </span>
    </>
  );
  return { aria, list, keyDown, update, close };
}

function Item({ e }: { e: Entry }) {
  switch (e.kind) {
    case "person":
      return (
        <>
          <span class="complete-icon">
            <Avatar user={e} size={20} />
            {e.presence && <span class="presence" data-state={e.presence} aria-hidden="true" />}
          </span>
          <span class="complete-name">{e.name}</span>
          {!e.member && <span class="complete-note">{t("writing.notMember")}</span>}
        </>
      );
    case "everyone":
      return (
        <>
          <span class="complete-icon" aria-hidden="true">
            @
          </span>
          <span class="complete-name">room</span>
          <span class="complete-note">{t("writing.everyone")}</span>
        </>
      );
    case "room":
      return (
        <>
          <span class="complete-icon" aria-hidden="true">
            #
          </span>
          <span class="complete-name">{e.name}</span>
          {(e.private || !e.member) && (
            <span class="complete-note">{[e.private ? t("writing.privateRoom") : "", e.member ? "" : t("writing.notJoined")].filter(Boolean).join(", ")}</span>
          )}
        </>
      );
    case "emoji":
      return (
        <>
          <span class="complete-icon complete-emoji" aria-hidden="true">
            {e.unicode}
          </span>
          <span class="complete-name">{e.shortcode ? `:${e.shortcode}:` : e.label}</span>
          <span class="complete-note">{e.label}</span>
        </>
      );
  }
}
