// The formatting help: a small dialog above the composer listing the
// Markdown the renderer (../markdown.ts) supports, each example shown as
// typed and as rendered by the renderer itself, so the two cannot drift.

import { useLayoutEffect, useRef } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { t, type Key } from "../i18n";
import { render } from "../markdown";
import { rooms } from "../state/rooms";
import { current } from "../state/view";

interface Row {
  label: Key;
  typed: string;
  shown: ComponentChildren;
}

function rows(): Row[] {
  const md = (k: Key) => ({ label: k, typed: "", shown: null as ComponentChildren });
  const ex = (label: Key, example: Key): Row => {
    const typed = t(example);
    return { ...md(label), typed, shown: render(typed) };
  };
  // #room: the room on screen when it has a name one can type, so the example is a real link
  const open = current.value === null ? undefined : rooms.value.get(current.value);
  const room = open && open.kind !== "direct" ? open : undefined;
  const roomTyped = "#" + (room?.name ?? "general");
  const block = "```\nlet x = 1\n```";
  return [
    ex("writing.fmtBold", "writing.exBold"),
    ex("writing.fmtItalic", "writing.exItalic"),
    ex("writing.fmtCode", "writing.exCode"),
    { label: "writing.fmtBlock", typed: block, shown: render(block) },
    ex("writing.fmtQuote", "writing.exQuote"),
    ex("writing.fmtList", "writing.exList"),
    ex("writing.fmtNumbered", "writing.exNumbered"),
    ex("writing.fmtLink", "writing.exLink"),
    { label: "writing.fmtMention", typed: "@alice", shown: render("@alice", [{ name: "alice", me: false }]) },
    { label: "writing.fmtRoom", typed: roomTyped, shown: render(roomTyped, [], room ? [room] : []) },
    { label: "writing.fmtEmoji", typed: ":tada", shown: "🎉" },
  ];
}

export interface FormatHelpProps {
  id: string;
  /** the button that opened it: the keyboard goes back there */
  opener: { current: HTMLElement | null };
  onClose(): void;
}

export function FormatHelp({ id, opener, onClose }: FormatHelpProps) {
  const box = useRef<HTMLDivElement>(null);
  const close = (refocus: boolean) => {
    onClose();
    if (refocus) opener.current?.focus();
  };
  useLayoutEffect(() => {
    box.current?.focus();
    // a click or tap elsewhere closes it (the opener toggles by itself)
    const away = (ev: PointerEvent) => {
      const target = ev.target as Node;
      if (box.current?.contains(target) || opener.current?.contains(target)) return;
      onClose();
    };
    document.addEventListener("pointerdown", away);
    return () => document.removeEventListener("pointerdown", away);
  }, []);
  return (
    <div
      id={id}
      ref={box}
      class="format-help"
      role="dialog"
      aria-labelledby={id + "-title"}
      tabIndex={-1}
      onKeyDown={(ev) => {
        if (ev.key !== "Escape") return;
        ev.preventDefault();
        ev.stopPropagation();
        close(true);
      }}
    >
      <div class="format-help-head">
        <h3 id={id + "-title"}>{t("writing.helpTitle")}</h3>
        <button type="button" class="ghost small format-help-close" onClick={() => close(true)}>
          {t("writing.helpClose")}
        </button>
      </div>
      <p class="muted">{t("writing.helpIntro")}</p>
      <table class="format-help-table">
        <thead>
          <tr>
            <th scope="col" class="visually-hidden">
              {t("writing.helpTitle")}
            </th>
            <th scope="col">{t("writing.helpTyped")}</th>
            <th scope="col">{t("writing.helpShown")}</th>
          </tr>
        </thead>
        <tbody>
          {rows().map((r) => (
            <tr key={r.label}>
              <th scope="row">{t(r.label)}</th>
              <td>
                <code class="format-typed">{r.typed}</code>
              </td>
              <td class="body format-shown">{r.shown}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted format-help-keys">{t("writing.helpKeys")}</p>
    </div>
  );
}
