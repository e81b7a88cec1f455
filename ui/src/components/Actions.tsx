// A message's actions: reply in thread, react, edit, delete, as the rules
// allow (the author edits; the author or a moderator deletes).

import { useEffect, useState } from "preact/hooks";
import { changeMessage } from "../client";
import { t } from "../i18n";
import { roomHash } from "../route";
import { EmojiPicker } from "./EmojiPicker";
import type { MessageProps } from "./Message";

export function Actions(p: MessageProps & { startEdit(): void }) {
  const { m } = p;
  const [picker, setPicker] = useState(false);
  const [armed, setArmed] = useState(false);
  useEffect(() => {
    if (!armed) return;
    const timer = setTimeout(() => setArmed(false), 4000);
    return () => clearTimeout(timer);
  }, [armed]);
  if (m.deleted || !p.member || !m.id || m.provisional) return null;
  const mine = m.author.id === p.me;
  const canReply = !p.inThread && !m.thread && m.kind !== "room";
  return (
    <div class={p.isRoot ? "actions root-actions" : "actions"} role="toolbar" aria-label={t("message.actions")}>
      {canReply && (
        <a class="act" data-action="reply" href={roomHash(m.room, m.id)} tabIndex={-1} title={t("action.replyTitle")}>
          {t("action.reply")}
        </a>
      )}
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
      {mine && m.kind !== "room" && (
        <button type="button" class="act" data-action="edit" tabIndex={-1} title={t("action.editTitle")} onClick={p.startEdit}>
          {t("action.edit")}
        </button>
      )}
      {(mine || p.moderator) && (
        <button
          type="button"
          class={armed ? "act danger" : "act"}
          data-action="delete"
          data-armed={String(armed)}
          tabIndex={-1}
          title={mine ? t("action.deleteTitle") : t("action.deleteModTitle")}
          onClick={(ev) => {
            // Two clicks: the first arms the button, so one slip deletes nothing.
            if (!armed) setArmed(true);
            else {
              setArmed(false);
              // The button goes with the message's actions: the keyboard stays on the message.
              (ev.currentTarget.closest(".message") as HTMLElement | null)?.focus();
              changeMessage(m, "delete");
            }
          }}
        >
          {armed ? t("action.deleteConfirm") : t("action.delete")}
        </button>
      )}
      {picker && (
        <EmojiPicker
          chosen={(e) => m.reactions?.find((r) => r.emoji === e)?.mine ?? false}
          onClose={() => setPicker(false)}
          onPick={(e) => {
            setPicker(false);
            const mine = m.reactions?.find((r) => r.emoji === e)?.mine ?? false;
            changeMessage(m, mine ? "unreact" : "react", e);
          }}
        />
      )}
    </div>
  );
}

