// A message's reactions: one button per emoji with its count, pressed when
// one of them is yours, then "+" for any other emoji (the picker). Who
// reacted shows in a tooltip on hover, on keyboard focus, and on a long
// press (a tap is for reacting); it is each button's description.

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { changeMessage } from "../client";
import { canonical, loadEmoji } from "../emoji";
import { lang, t } from "../i18n";
import { people } from "../state/rooms";
import { me } from "../state/session";
import type { Message as Msg, Reaction } from "../types";
import { EmojiPicker } from "./EmojiPicker";
import "../styles/emoji.css";

const LONG_PRESS = 500; // ms, as long as a message's (MessageList)
let tips = 0; // ids of the tooltips, unique on the page (a thread's root is shown twice)

const NAMES = 10; // people named in a tooltip; the others are counted

/** who names the people who reacted (the first ones the server lists), then how many more. */
export function who(ids: readonly string[], count: number, meID?: string): string {
  const names = ids.slice(0, NAMES).map((id) => (id === meID ? t("emoji.you") : (people.get(id)?.name ?? t("reaction.someone"))));
  if (count > names.length) names.push(t("emoji.others", { count: count - names.length }));
  return new Intl.ListFormat(lang.value, { type: "conjunction" }).format(names);
}

/** sentence starts with a capital when it starts with "you" (a name is as its person wrote it). */
function sentence(s: string): string {
  const you = t("emoji.you");
  return s.startsWith(you) ? you.charAt(0).toLocaleUpperCase(lang.value) + s.slice(1) : s;
}

type Shown = "" | "hover" | "focus" | "touch";

function ReactionButton({ m, r, member }: { m: Msg; r: Reaction; member: boolean }) {
  const [id] = useState(() => `reaction-tip-${++tips}`);
  const [shown, setShown] = useState<Shown>("");
  const [name, setName] = useState<string | null>(null);
  const [shift, setShift] = useState({ x: 0, below: false });
  const tip = useRef<HTMLSpanElement>(null);
  const press = useRef(0);
  const pressed = useRef(false);

  // The emoji's name, in the person's language, once the data is there.
  useEffect(() => {
    if (!shown) return;
    let live = true;
    loadEmoji().then(
      (d) => live && setName(d.byUnicode.get(canonical(r.emoji))?.label ?? null),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [shown, r.emoji, lang.value]);

  // Within the screen and the list: to the left at the right edge, below at the top.
  useLayoutEffect(() => {
    const el = tip.current;
    if (!shown || !el) return;
    const rect = el.getBoundingClientRect();
    const scroller = el.closest("[role=log]")?.getBoundingClientRect();
    const right = document.documentElement.clientWidth - 8;
    const x = rect.right - shift.x > right ? right - (rect.right - shift.x) : 0;
    const below = rect.top - (shift.below ? rect.height + 12 : 0) < (scroller?.top ?? 0);
    if (x !== shift.x || below !== shift.below) setShift({ x, below });
  }, [shown, name]);

  // A tooltip shown by a long press goes at the next touch anywhere.
  useEffect(() => {
    if (shown !== "touch") return;
    const off = () => setShown("");
    document.addEventListener("pointerdown", off, true);
    return () => document.removeEventListener("pointerdown", off, true);
  }, [shown]);

  const text = sentence(t("emoji.reactedBy", { who: who(r.users, r.count, me.value?.id), name: name ?? r.emoji }));
  return (
    <span
      class="reaction-wrap"
      onMouseEnter={() => shown !== "focus" && setShown("hover")}
      onMouseLeave={() => shown === "hover" && setShown("")}
      onTouchStart={(ev) => {
        // A long press here tells who reacted, instead of the message's actions.
        ev.stopPropagation();
        pressed.current = false;
        clearTimeout(press.current);
        press.current = window.setTimeout(() => {
          pressed.current = true;
          setShown("touch");
        }, LONG_PRESS);
      }}
      onTouchMove={() => clearTimeout(press.current)}
      onTouchCancel={() => clearTimeout(press.current)}
      onTouchEnd={(ev) => {
        clearTimeout(press.current);
        if (pressed.current) ev.preventDefault(); // the press showed the names: no click, no reaction
      }}
      onContextMenu={(ev) => matchMedia("(pointer: coarse)").matches && ev.preventDefault()}
    >
      <button
        type="button"
        tabIndex={-1}
        class={r.mine ? "reaction mine" : "reaction"}
        data-emoji={r.emoji}
        data-count={String(r.count)}
        aria-pressed={r.mine}
        aria-describedby={id}
        disabled={!member}
        // The title is for what reads it; not while the tooltip says the same.
        title={shown ? undefined : t("reaction.title", { who: who(r.users, r.count), emoji: r.emoji })}
        onFocus={() => setShown("focus")}
        onBlur={() => setShown("")}
        onKeyDown={(ev) => {
          if (ev.key === "Escape" && shown) {
            ev.stopPropagation(); // the tooltip goes; the focus stays
            ev.preventDefault();
            setShown("");
          }
        }}
        onClick={() => changeMessage(m, r.mine ? "unreact" : "react", r.emoji)}
      >
        {r.emoji} {r.count}
      </button>
      <span
        ref={tip}
        id={id}
        role="tooltip"
        class={shift.below ? "reaction-tip below" : "reaction-tip"}
        style={shift.x ? { transform: `translateX(${shift.x}px)` } : undefined}
        hidden={!shown}
      >
        <span class="reaction-tip-emoji" aria-hidden="true">
          {r.emoji}
        </span>
        {text}
      </span>
    </span>
  );
}

export function Reactions({ m, member }: { m: Msg; member: boolean }) {
  const [picker, setPicker] = useState(false);
  if (m.deleted || !m.reactions?.length) return null;
  // Another client may have sent an emoji in another form ("👍\uFE0F"): the same emoji.
  const reactionOf = (e: string) => m.reactions?.find((r) => r.emoji === e) ?? m.reactions?.find((r) => canonical(r.emoji) === e);
  const mineOf = (e: string) => reactionOf(e)?.mine ?? false;
  return (
    <div class="reactions">
      {m.reactions.map((r) => (
        <ReactionButton key={r.emoji} m={m} r={r} member={member} />
      ))}
      {member && m.id && !m.provisional && (
        <span class="reaction-wrap">
          <button
            type="button"
            tabIndex={-1}
            class="reaction-add"
            data-action="add-reaction"
            aria-label={t("emoji.add")}
            title={t("emoji.add")}
            aria-haspopup="dialog"
            aria-expanded={picker}
            // The data starts loading as the pointer or the focus comes near.
            onPointerEnter={() => void loadEmoji().catch(() => {})}
            onFocus={() => void loadEmoji().catch(() => {})}
            onClick={() => setPicker(!picker)}
          >
            <span aria-hidden="true">+☺</span>
          </button>
          {picker && (
            <EmojiPicker
              chosen={mineOf}
              onClose={() => setPicker(false)}
              onPick={(e) => {
                setPicker(false);
                const r = reactionOf(e);
                if (r?.mine) changeMessage(m, "unreact", r.emoji);
                else changeMessage(m, "react", e);
              }}
            />
          )}
        </span>
      )}
    </div>
  );
}
