// A composer: Enter sends, Shift+Enter is a new line, and Enter while an
// input method composes (Japanese, Chinese, Korean) never sends: it
// confirms the composition. "@", "#" and ":" open an autocomplete
// (Autocomplete.tsx); what is typed is kept as a draft across reloads
// (../drafts.ts); an emoji button and the formatting help sit by the send
// button.

import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { drafts } from "../drafts";
import { t } from "../i18n";
import { me } from "../state/session";
import { useCompletion } from "./Autocomplete";
import { EmojiPicker } from "./EmojiPicker";
import { FormatHelp } from "./FormatHelp";
import "../styles/writing.css";

/** composing reports whether a keydown belongs to an IME composition. */
export function composing(ev: KeyboardEvent, inComposition: boolean): boolean {
  return ev.isComposing || ev.keyCode === 229 || inComposition;
}

/** sendsOnEnter reports whether a keydown should send. */
export function sendsOnEnter(ev: KeyboardEvent, inComposition: boolean): boolean {
  return ev.key === "Enter" && !ev.shiftKey && !ev.altKey && !ev.ctrlKey && !ev.metaKey && !composing(ev, inComposition);
}

/**
 * insertAtCaret puts text in place of el's selection, keeping the browser's
 * undo history where it can (insertText), and fires input as typing does.
 */
export function insertAtCaret(el: HTMLTextAreaElement, text: string): void {
  const start = el.selectionStart;
  const end = el.selectionEnd;
  const want = el.value.slice(0, start) + text + el.value.slice(end);
  el.focus();
  el.setSelectionRange(start, end);
  let ok = false;
  try {
    ok = typeof document.execCommand === "function" && document.execCommand("insertText", false, text);
  } catch {
    ok = false;
  }
  if (!ok || el.value !== want) {
    el.value = want;
    el.setSelectionRange(start + text.length, start + text.length);
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }
}

export interface ComposerProps {
  /** names the draft: what is typed stays with its room or thread */
  draft: string;
  formId: string;
  inputId: string;
  sendId: string;
  label: string;
  placeholder: string;
  sendLabel: string;
  disabled?: boolean;
  onSend(body: string): void;
  /** ArrowUp in an empty composer: edit your last message; false when there is none */
  onEditLast?(): boolean;
  onType?(): void;
}

type Popover = "" | "emoji" | "help";

export function Composer(p: ComposerProps) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const inComposition = useRef(false);
  const emojiButton = useRef<HTMLButtonElement>(null);
  const helpButton = useRef<HTMLButtonElement>(null);
  const pickerBox = useRef<HTMLDivElement>(null);
  const [popover, setPopover] = useState<Popover>("");
  const user = me.value?.id ?? "";
  const autosize = () => {
    const el = ref.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, 200)}px`;
  };
  const completion = useCompletion(ref, p.inputId + "-complete", autosize);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.value = drafts.get(user, p.draft);
    autosize();
    completion.close();
    setPopover("");
  }, [p.draft, user]);

  // The emoji picker takes the keyboard when it opens (in the same frame:
  // a pick that comes first must not have the focus taken back), and
  // closes on a click or tap elsewhere.
  useLayoutEffect(() => {
    if (popover !== "emoji") return;
    pickerBox.current?.querySelector<HTMLElement>("input, button, [tabindex]")?.focus();
    const away = (ev: PointerEvent) => {
      const target = ev.target as Node;
      if (pickerBox.current?.contains(target) || emojiButton.current?.contains(target)) return;
      setPopover("");
    };
    document.addEventListener("pointerdown", away);
    return () => document.removeEventListener("pointerdown", away);
  }, [popover]);

  const submit = (ev: Event) => {
    ev.preventDefault();
    const el = ref.current;
    if (!el) return;
    const body = el.value;
    if (body.trim() === "") return;
    el.value = "";
    drafts.remove(user, p.draft);
    completion.close();
    autosize();
    p.onSend(body);
  };
  const closePicker = () => {
    setPopover("");
    emojiButton.current?.focus();
  };
  const hintId = p.inputId + "-hint";
  return (
    <form id={p.formId} class="composer" autocomplete="off" onSubmit={submit}>
      <span id={hintId} class="visually-hidden">
        {t("composer.hint")} {t("writing.hint")}
      </span>
      {completion.list}
      {popover === "help" && <FormatHelp id={p.inputId + "-format-help"} opener={helpButton} onClose={() => setPopover("")} />}
      {popover === "emoji" && (
        <div
          class="composer-picker"
          ref={pickerBox}
          onKeyDown={(ev) => {
            if (ev.key !== "Escape") return;
            ev.preventDefault();
            ev.stopPropagation();
            closePicker();
          }}
        >
          <EmojiPicker
            onPick={(emoji) => {
              setPopover("");
              const el = ref.current;
              if (el) insertAtCaret(el, emoji);
            }}
            onClose={closePicker}
          />
        </div>
      )}
      <textarea
        id={p.inputId}
        aria-describedby={hintId}
        ref={ref}
        rows={1}
        maxLength={16384}
        aria-label={p.label}
        placeholder={p.placeholder}
        disabled={p.disabled}
        {...completion.aria}
        onCompositionStart={() => {
          inComposition.current = true;
          completion.close();
        }}
        onCompositionEnd={() => {
          inComposition.current = false;
          completion.update(false);
        }}
        onBlur={() => completion.close()}
        onClick={() => completion.update(inComposition.current)}
        onKeyUp={(ev) => {
          // the caret moved without typing
          if (["ArrowLeft", "ArrowRight", "Home", "End"].includes(ev.key)) completion.update(composing(ev, inComposition.current));
        }}
        onKeyDown={(ev) => {
          if (completion.keyDown(ev, composing(ev, inComposition.current))) return;
          const plain = !ev.shiftKey && !ev.altKey && !ev.ctrlKey && !ev.metaKey;
          if (ev.key === "ArrowUp" && plain && ev.currentTarget.value === "" && p.onEditLast?.()) {
            ev.preventDefault();
            return;
          }
          if (sendsOnEnter(ev, inComposition.current)) {
            ev.preventDefault();
            (ev.currentTarget.form as HTMLFormElement).requestSubmit();
          }
        }}
        onInput={(ev) => {
          drafts.set(user, p.draft, ev.currentTarget.value);
          autosize();
          completion.update((ev as InputEvent).isComposing || inComposition.current);
          p.onType?.();
        }}
      />
      <div class="composer-tools">
        <button
          id={p.inputId + "-emoji"}
          ref={emojiButton}
          type="button"
          class="ghost composer-tool"
          disabled={p.disabled}
          aria-label={t("writing.emoji")}
          title={t("writing.emoji")}
          aria-expanded={popover === "emoji"}
          onClick={() => setPopover(popover === "emoji" ? "" : "emoji")}
        >
          <svg viewBox="0 0 24 24" aria-hidden="true" width="20" height="20">
            <circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" stroke-width="2" />
            <circle cx="9" cy="10" r="1.3" fill="currentColor" />
            <circle cx="15" cy="10" r="1.3" fill="currentColor" />
            <path d="M8 14.5c1 1.4 2.3 2 4 2s3-.6 4-2" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
          </svg>
        </button>
        <button
          id={p.inputId + "-help"}
          ref={helpButton}
          type="button"
          class="ghost composer-tool"
          aria-label={t("writing.help")}
          title={t("writing.help")}
          aria-haspopup="dialog"
          aria-expanded={popover === "help"}
          aria-controls={popover === "help" ? p.inputId + "-format-help" : undefined}
          onClick={() => setPopover(popover === "help" ? "" : "help")}
        >
          <svg viewBox="0 0 24 24" aria-hidden="true" width="20" height="20">
            <text x="12" y="16.5" text-anchor="middle" font-size="13" font-weight="700" font-family="system-ui, sans-serif" fill="currentColor">
              Aa
            </text>
          </svg>
        </button>
      </div>
      <button id={p.sendId} type="submit" class="send" disabled={p.disabled}>
        <svg viewBox="0 0 24 24" aria-hidden="true" width="20" height="20">
          <path d="M3 20.5 21 12 3 3.5v6.6l12 1.9-12 1.9z" fill="currentColor" />
        </svg>
        <span class="send-text">{p.sendLabel}</span>
      </button>
    </form>
  );
}
