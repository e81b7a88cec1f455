// The quick switcher (Ctrl/⌘+K, or the top bar's button): a modal dialog
// with a combobox over a listbox of rooms and people, matched fuzzily
// (../switcher.ts, ../fuzzy.ts). ↑/↓ move, Enter opens, Escape closes and
// gives the keyboard back where it was. A person found by the server opens
// the direct room with them (made the first time).

import type { VNode } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { errorText, navigate, openDirect, searchPeople } from "../client";
import { loadRecent, sheetOpen, switcherOpen } from "../keys";
import { lang, t } from "../i18n";
import { roomHash } from "../route";
import { counts } from "../state/feeds";
import { me } from "../state/session";
import { current } from "../state/view";
import { candidates, parseQuery, rank, type Ranked } from "../switcher";
import type { Author } from "../types";
import { KindMark } from "./Sidebar";
import { closedByBrowser, closeQuietly } from "./modal";

const SEARCH_DELAY = 150; // ms after the last keystroke before the server is asked

/** highlight wraps the matched characters of name in <mark>. */
function highlight(name: string, positions: readonly number[]): (string | VNode)[] {
  if (positions.length === 0) return [name];
  const at = new Set(positions);
  const out: (string | VNode)[] = [];
  let plain = "";
  let i = 0;
  for (const c of name) {
    if (at.has(i)) {
      if (plain) out.push(plain);
      plain = "";
      out.push(<mark key={i}>{c}</mark>);
    } else plain += c;
    i += c.length;
  }
  if (plain) out.push(plain);
  return out;
}

function Mark({ c }: { c: Ranked }) {
  return <KindMark kind={c.kind === "person" || c.kind === "direct" ? "direct" : c.private ? "private" : "public"} />;
}

function kindText(c: Ranked): string {
  if (c.kind === "person") return t("keys.switcher.person");
  if (c.kind === "direct") return t("room.kindDirect");
  const parts = [c.private ? t("room.kindPrivate") : t("room.kindPublic")];
  if (c.parent) parts.push(t("keys.switcher.inside", { room: c.parent }));
  if (!c.member) parts.push(t("keys.switcher.notJoined"));
  return new Intl.ListFormat(lang.value, { type: "unit", style: "short" }).format(parts);
}

export function QuickSwitcher() {
  const ref = useRef<HTMLDialogElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const list = useRef<HTMLUListElement>(null);
  const from = useRef<Element | null>(null);
  const seq = useRef(0);
  const timer = useRef(0);
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const [people, setPeople] = useState<Author[]>([]);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const open = switcherOpen.value;
  const user = me.value;

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      from.current = document.activeElement;
      setQuery("");
      setActive(0);
      setPeople([]);
      setError("");
      d.showModal();
      input.current?.focus();
    } else if (!open && d.open) {
      closeQuietly(d);
      clearTimeout(timer.current);
      seq.current++; // an answer still on its way is stale
      const back = from.current;
      from.current = null;
      if (back instanceof HTMLElement && back.isConnected && back !== document.body) back.focus();
    }
  }, [open]);

  // The people the server knows by the start of their name: asked once
  // typing pauses; an answer to an older query is dropped.
  useEffect(() => {
    clearTimeout(timer.current);
    const mine = ++seq.current;
    const { text, only } = parseQuery(query);
    const q = text.trim();
    if (!open || !user || user.guest || only === "rooms" || q === "") {
      setPeople([]);
      return;
    }
    timer.current = window.setTimeout(async () => {
      try {
        const found = await searchPeople(q);
        if (mine === seq.current) setPeople(found);
      } catch {
        if (mine === seq.current) setPeople([]); // the rooms are still there to pick
      }
    }, SEARCH_DELAY);
    return () => clearTimeout(timer.current);
  }, [query, open]);

  counts.value; // the feeds are not signals: re-render when a count changed
  const results = user && open ? rank(candidates(user.id, loadRecent(user.id), people), query, current.value) : [];
  const at = Math.min(active, Math.max(0, results.length - 1));

  useLayoutEffect(() => {
    list.current?.querySelector<HTMLElement>('[aria-selected="true"]')?.scrollIntoView({ block: "nearest" });
  }, [at, query]);

  if (!user) return null;

  const close = () => (switcherOpen.value = false);

  const choose = async (c: Ranked | undefined) => {
    if (!c || busy) return;
    setError("");
    if (c.kind === "person" && c.user) {
      setBusy(true);
      try {
        await openDirect(c.user);
      } catch (err) {
        setError(errorText(err));
        return;
      } finally {
        setBusy(false);
      }
    } else if (c.room !== undefined) navigate(roomHash(c.room));
    // Where the keyboard goes: the new room's composer, with a keyboard
    // and a pointer (not on a touch screen, where it would open the
    // on-screen keyboard over the room).
    from.current = null;
    close();
    requestAnimationFrame(() => {
      if (switcherOpen.value) return; // opened again meanwhile: its input keeps the keyboard
      const composer = document.getElementById("composer") as HTMLTextAreaElement | null;
      if (composer && !composer.disabled && matchMedia("(pointer: fine)").matches) composer.focus();
      else if (!document.activeElement || document.activeElement === document.body) document.getElementById("main")?.focus();
    });
  };

  const optionId = (c: Ranked) => "switcher-" + c.key.replace(/[^a-zA-Z0-9_-]/g, "-");
  const activeOption = results[at];

  return (
    <dialog
      id="switcher"
      ref={ref}
      class="switcher"
      aria-labelledby="switcher-heading"
      onCancel={(ev) => {
        ev.preventDefault();
        close();
      }}
      onClose={() => {
        // closed by the browser, not by the effect above (see modal.ts)
        if (closedByBrowser(ref.current) && switcherOpen.value) close();
      }}
      onClick={(ev) => {
        // a click on the backdrop (the dialog itself, outside its box)
        if (ev.target === ref.current) close();
      }}
    >
      <div class="switcher-box">
        <div class="switcher-head">
          <h2 id="switcher-heading" class="visually-hidden">
            {t("keys.switcher.heading")}
          </h2>
          <label for="switcher-input" class="visually-hidden">
            {t("keys.switcher.label")}
          </label>
          <input
            id="switcher-input"
            ref={input}
            type="text"
            role="combobox"
            aria-autocomplete="list"
            aria-expanded={results.length > 0}
            aria-controls="switcher-list"
            aria-activedescendant={activeOption ? optionId(activeOption) : undefined}
            aria-describedby="switcher-hint"
            autocomplete="off"
            autocapitalize="off"
            spellcheck={false}
            enterkeyhint="go"
            maxLength={64}
            placeholder={t("keys.switcher.placeholder")}
            value={query}
            onInput={(ev) => {
              setQuery(ev.currentTarget.value);
              setActive(0);
            }}
            onKeyDown={(ev) => {
              if (ev.isComposing || ev.keyCode === 229) return;
              const n = results.length;
              if (ev.key === "ArrowDown" && !ev.altKey && n > 0) {
                ev.preventDefault();
                setActive((at + 1) % n);
              } else if (ev.key === "ArrowUp" && !ev.altKey && n > 0) {
                ev.preventDefault();
                setActive((at - 1 + n) % n);
              } else if (ev.key === "PageDown" && n > 0) {
                ev.preventDefault();
                setActive(Math.min(n - 1, at + 8));
              } else if (ev.key === "PageUp" && n > 0) {
                ev.preventDefault();
                setActive(Math.max(0, at - 8));
              } else if (ev.key === "Enter") {
                ev.preventDefault();
                void choose(activeOption);
              }
            }}
          />
          <button type="button" id="switcher-close" class="ghost small" onClick={close}>
            {t("keys.switcher.close")}
          </button>
        </div>
        <ul id="switcher-list" ref={list} class="switcher-list" role="listbox" aria-label={t("keys.switcher.results")}>
          {results.map((c, i) => (
            <li
              key={c.key}
              id={optionId(c)}
              role="option"
              aria-selected={i === at}
              class={i === at ? "switcher-option active" : "switcher-option"}
              data-room-id={c.room !== undefined ? String(c.room) : undefined}
              data-user-id={c.user}
              onPointerMove={(ev) => {
                if (ev.pointerType === "mouse" && i !== at) setActive(i);
              }}
              onClick={() => void choose(c)}
            >
              <Mark c={c} />
              <span class="switcher-name">{highlight(c.name, c.positions)}</span>
              <span class="switcher-kind">{kindText(c)}</span>
              {c.mentions > 0 && (
                <span class="mentions">
                  <span aria-hidden="true">{"@" + (c.mentions > 99 ? "99+" : c.mentions)}</span>
                  <span class="visually-hidden">{t("room.mentions", { count: c.mentions })}</span>
                </span>
              )}
              {c.unread > 0 && (
                <span class="unread">
                  <span aria-hidden="true">{c.unread > 99 ? "99+" : c.unread}</span>
                  <span class="visually-hidden">{t("room.unread", { count: c.unread })}</span>
                </span>
              )}
            </li>
          ))}
        </ul>
        {results.length === 0 && <p class="muted switcher-empty">{t("keys.switcher.none")}</p>}
        <p class="visually-hidden" role="status">
          {open ? (results.length === 0 ? t("keys.switcher.none") : t("keys.switcher.count", { count: results.length })) : ""}
        </p>
        {error && (
          <p id="switcher-error" class="error" role="alert">
            {error}
          </p>
        )}
        <div class="switcher-foot">
          <p id="switcher-hint" class="muted switcher-hint">
            {user.guest ? t("keys.switcher.hintGuest") : t("keys.switcher.hint")}
          </p>
          <button
            type="button"
            id="switcher-shortcuts"
            class="link-button"
            onClick={() => {
              close();
              sheetOpen.value = true;
            }}
          >
            {t("keys.sheet.open")}
          </button>
        </div>
      </div>
    </dialog>
  );
}
