// A composer: Enter sends, Shift+Enter is a new line, and Enter while an
// input method composes (Japanese, Chinese, Korean) never sends: it
// confirms the composition.

import { useLayoutEffect, useRef } from "preact/hooks";
import { t } from "../i18n";

/** composing reports whether a keydown belongs to an IME composition. */
export function composing(ev: KeyboardEvent, inComposition: boolean): boolean {
  return ev.isComposing || ev.keyCode === 229 || inComposition;
}

/** sendsOnEnter reports whether a keydown should send. */
export function sendsOnEnter(ev: KeyboardEvent, inComposition: boolean): boolean {
  return ev.key === "Enter" && !ev.shiftKey && !ev.altKey && !ev.ctrlKey && !ev.metaKey && !composing(ev, inComposition);
}

/** What was typed and not sent, per composer (a room, a thread), for this page's life. */
const drafts = new Map<string, string>();

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

export function Composer(p: ComposerProps) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const inComposition = useRef(false);
  const autosize = () => {
    const el = ref.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, 200)}px`;
  };
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.value = drafts.get(p.draft) ?? "";
    autosize();
  }, [p.draft]);
  const submit = (ev: Event) => {
    ev.preventDefault();
    const el = ref.current;
    if (!el) return;
    const body = el.value;
    if (body.trim() === "") return;
    el.value = "";
    drafts.delete(p.draft);
    autosize();
    p.onSend(body);
  };
  return (
    <form id={p.formId} class="composer" autocomplete="off" onSubmit={submit}>
      <span id={p.inputId + "-hint"} class="visually-hidden">
        {t("composer.hint")}
      </span>
      <textarea
        id={p.inputId}
        aria-describedby={p.inputId + "-hint"}
        ref={ref}
        rows={1}
        maxLength={16384}
        aria-label={p.label}
        placeholder={p.placeholder}
        disabled={p.disabled}
        onCompositionStart={() => (inComposition.current = true)}
        onCompositionEnd={() => (inComposition.current = false)}
        onKeyDown={(ev) => {
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
          drafts.set(p.draft, ev.currentTarget.value);
          autosize();
          p.onType?.();
        }}
      />
      <button id={p.sendId} type="submit" class="send" disabled={p.disabled}>
        <svg viewBox="0 0 24 24" aria-hidden="true" width="20" height="20">
          <path d="M3 20.5 21 12 3 3.5v6.6l12 1.9-12 1.9z" fill="currentColor" />
        </svg>
        <span class="send-text">{p.sendLabel}</span>
      </button>
    </form>
  );
}
