// One message: author, time, body (Markdown), reactions, the thread
// summary and the actions the rules allow. Messages are immutable objects
// (state/fold.ts), so the component re-renders only when its message does.

import { useComputed } from "@preact/signals";
import { memo } from "preact/compat";
import { useEffect, useRef } from "preact/hooks";
import { changeMessage, discard, openChild, retry } from "../client";
import { clock, fullTime, t } from "../i18n";
import { render, type MentionName } from "../markdown";
import type { OutboxEntry } from "../outbox";
import { roomHash } from "../route";
import { people, profiles } from "../state/rooms";
import { editing, startEditing, stopEditing } from "../state/view";
import type { Author, Message as Msg } from "../types";
import { Avatar } from "./Avatar";
import { Actions } from "./Actions";
import { useCompletion } from "./Autocomplete";
import { composing, sendsOnEnter } from "./Composer";
import { openProfile } from "./ProfileCard";
import { Reactions } from "./Reactions";

export interface MessageProps {
  m: Msg;
  me: string;
  /** may act on it: a member of its room */
  member: boolean;
  /** deletes anybody's messages */
  moderator: boolean;
  names: readonly MentionName[];
  inThread?: boolean;
  isRoot?: boolean;
  /** unread replies of its thread (followed threads) */
  threadNew?: number;
  tabIndex: number;
  mentionsMe: boolean;
  /** right after a message by the same person: no picture, no name shown */
  grouped?: boolean;
  pending?: OutboxEntry;
}

function Time({ iso }: { iso: string }) {
  const at = iso ? new Date(iso) : new Date();
  return (
    <time class="time" dateTime={at.toISOString()} title={fullTime(at)}>
      {clock(at)}
    </time>
  );
}

/**
 * Edited is the "(edited)" marker; the edit time shows on hover and on
 * focus (it is one of the message's controls, reached with the arrow keys,
 * and a tap focuses it), and screen readers read it in its name.
 */
function Edited({ at }: { at: string }) {
  const time = fullTime(new Date(at));
  // The name starts with the words shown, then the time.
  return (
    <button type="button" class="edited" tabIndex={-1} data-time={t("message.editedAt", { time })} aria-label={t("actions.edited", { time })}>
      {t("message.edited")}
    </button>
  );
}

function ThreadSummary({ m, unread }: { m: Msg; unread: number }) {
  const n = m.replies ?? 0;
  if (!n && !unread) return null;
  let text = t("thread.replies", { count: n });
  if (m.last_reply_at) text += " · " + t("thread.last", { time: clock(new Date(m.last_reply_at)) });
  return (
    <a class="reply-summary" href={roomHash(m.room, m.id)} tabIndex={-1}>
      {text}
      {unread > 0 && (
        <>
          {" "}
          <span class="thread-new">{t("thread.new", { count: unread })}</span>
        </>
      )}
    </a>
  );
}

function RoomLink({ m }: { m: Msg }) {
  if (m.deleted) return <div class="body tombstone">{t("message.linkDeleted")}</div>;
  return (
    <div class="body room-link">
      <span>{t("message.createdInside")} </span>
      <button type="button" tabIndex={-1} class="link-button child-link" data-room-id={String(m.child)} onClick={() => void openChild(m.child!)}>
        {m.body ? "#" + m.body : t("message.privateRoom")}
      </button>
    </div>
  );
}

function EditForm({ m, done }: { m: Msg; done(): void }) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const inComposition = useRef(false);
  const completion = useCompletion(ref, `edit-${m.id ?? m.seq}-complete`, () => {});
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  const save = (ev: Event) => {
    ev.preventDefault();
    const text = ref.current?.value ?? "";
    if (text.trim() !== "" && text !== m.body) changeMessage(m, "edit", text);
    done();
  };
  return (
    <form class="edit-form" onSubmit={save}>
      {completion.list}
      <textarea
        ref={ref}
        class="edit-input"
        maxLength={16384}
        aria-label={t("edit.label")}
        rows={Math.min(8, m.body.split("\n").length + 1)}
        defaultValue={m.body}
        {...completion.aria}
        onCompositionStart={() => {
          inComposition.current = true;
          completion.close();
        }}
        onCompositionEnd={() => {
          inComposition.current = false;
          completion.update(false);
        }}
        onInput={(ev) => completion.update((ev as InputEvent).isComposing || inComposition.current)}
        onClick={() => completion.update(inComposition.current)}
        onBlur={() => completion.close()}
        onKeyDown={(ev) => {
          if (completion.keyDown(ev, composing(ev, inComposition.current))) return;
          if (ev.key === "Escape" && !inComposition.current) {
            ev.preventDefault();
            ev.stopPropagation();
            done();
          }
          if (sendsOnEnter(ev, inComposition.current)) {
            ev.preventDefault();
            (ev.currentTarget.form as HTMLFormElement).requestSubmit();
          }
        }}
      />
      <div class="edit-buttons">
        <button type="submit" class="small edit-save">
          {t("edit.save")}
        </button>
        <button type="button" class="ghost small edit-cancel" onClick={done}>
          {t("edit.cancel")}
        </button>
      </div>
    </form>
  );
}

function MessageItem(p: MessageProps) {
  const { m, pending } = p;
  // Only the messages being edited before or after a change re-render.
  const isEditing = useComputed(() => !!m.id && editing.value === m.id).value;
  const ref = useRef<HTMLElement>(null);
  const mine = m.author.id === p.me;
  const cls = ["message"];
  if (mine) cls.push("mine");
  if (!mine && p.mentionsMe) cls.push("mentions-me");
  if (m.deleted) cls.push("deleted");
  if (m.provisional) cls.push("provisional");
  if (pending && !pending.error) cls.push("pending");
  if (pending?.error) cls.push("failed");
  if (p.grouped) cls.push("grouped");
  profiles.value; // a name or picture changed: shown on every message
  const author: Author = people.get(m.author.id) ?? m.author;

  let body;
  if (m.kind === "room") body = <RoomLink m={m} />;
  else if (m.deleted) body = <div class="body tombstone">{t("message.deleted")}</div>;
  else if (isEditing) body = <EditForm m={m} done={() => stopEditing(ref.current)} />;
  else body = <div class="body">{render(m.body, p.names)}</div>;

  return (
    <article
      ref={ref}
      class={cls.join(" ")}
      data-id={m.id}
      data-seq={pending ? undefined : String(m.seq)}
      data-client-id={pending?.client_id}
      tabIndex={p.tabIndex}
    >
      {/* The author's picture and name open their profile card. A grouped
          message keeps the picture's room, hidden: no button there. */}
      {p.grouped ? (
        <span class="avatar-button" aria-hidden="true">
          <Avatar user={author} />
        </span>
      ) : (
        <button
          type="button"
          class="avatar-button"
          tabIndex={-1}
          aria-haspopup="dialog"
          aria-label={t("people.profileOf", { name: author.name })}
          onClick={(ev) => openProfile(author, ev.currentTarget)}
        >
          <Avatar user={author} />
        </button>
      )}
      <div class="content">
        <div class="meta">
          <button type="button" class="author" tabIndex={-1} aria-haspopup="dialog" onClick={(ev) => openProfile(author, ev.currentTarget)}>
            {author.name}
          </button>{" "}
          <Time iso={m.created_at} />
          {m.edited_at && !m.deleted && <Edited at={m.edited_at} />}
          {pending && !pending.error && <span class="sending">{t("message.sending")}</span>}
        </div>
        {body}
        <Reactions m={m} member={p.member} />
        {!p.inThread && !m.thread && m.kind !== "room" && <ThreadSummary m={m} unread={p.threadNew ?? 0} />}
        {pending?.error && (
          <div class="send-error" role="alert">
            {t("message.notSent", { error: pending.error })}{" "}
            <button type="button" class="small" onClick={() => retry(pending.client_id)}>
              {t("message.retry")}
            </button>{" "}
            <button type="button" class="ghost small" onClick={() => discard(pending.client_id)}>
              {t("message.discard")}
            </button>
          </div>
        )}
      </div>
      {!pending && !isEditing && <Actions {...p} startEdit={() => m.id && startEditing(m.id)} />}
    </article>
  );
}

export const Message = memo(MessageItem);
