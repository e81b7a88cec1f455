// The thread panel: the root, its replies (paged), a composer to reply,
// follow and close.

import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import { closeThread, isFollowing, loadOlderReplies, send, toggleFollow, typed } from "../client";
import { t } from "../i18n";
import type { MentionName } from "../markdown";
import { following } from "../state/feeds";
import { moderates } from "../state/rooms";
import { me } from "../state/session";
import { pending, startEditing, type ThreadState } from "../state/view";
import type { Room } from "../types";
import { Composer } from "./Composer";
import { Message } from "./Message";
import { MessageList } from "./MessageList";
import { mentionsUser } from "../state/feed";

export function Thread({ ts, room, names }: { ts: ThreadState; room: Room; names: readonly MentionName[] }) {
  ts.rev.value;
  following.value; // re-render when following changes
  const user = me.value!;
  const root = ts.root.value;
  const replies = ts.list.sorted();
  const mine = pending.value.filter((e) => e.room === ts.room && e.thread === ts.rootId);
  const follows = isFollowing(ts.room, ts.rootId);
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const panel = useRef<HTMLElement>(null);

  useLayoutEffect(() => {
    const s = scroller.current;
    if (s && stick.current) s.scrollTop = s.scrollHeight;
  });
  useEffect(() => {
    // Opening a thread puts the keyboard in its composer.
    panel.current?.querySelector<HTMLTextAreaElement>("#thread-composer")?.focus();
  }, [ts]);

  return (
    <aside
      id="thread"
      ref={panel}
      class="thread"
      aria-labelledby="thread-heading"
      onKeyDown={(ev) => {
        if (ev.key === "Escape" && !(ev.target as HTMLElement).closest(".message")) closeThread();
      }}
    >
      <div class="thread-head">
        <h3 id="thread-heading">{t("thread.heading")}</h3>
        <span class="spacer" />
        <button
          id="thread-follow"
          class="ghost small"
          type="button"
          data-following={String(follows)}
          aria-pressed={follows}
          title={follows ? t("thread.unfollowTitle") : t("thread.followTitle")}
          onClick={() => void toggleFollow()}
        >
          {follows ? t("thread.unfollow") : t("thread.follow")}
        </button>
        <button id="thread-close" class="ghost small" type="button" title={t("thread.closeTitle")} onClick={() => closeThread()}>
          {t("thread.close")}
        </button>
      </div>
      <div
        id="thread-scroller"
        class="scroller thread-scroller"
        ref={scroller}
        onScroll={(ev) => {
          const s = ev.currentTarget; // the ref may already be gone when a scroll lands after unmount
          stick.current = s.scrollHeight - s.scrollTop - s.clientHeight < 80;
        }}
      >
        <div id="thread-root" class="messages thread-root" role="group" aria-label={t("thread.root")}>
          {root && (
            <Message
              m={root}
              me={user.id}
              member={room.member}
              moderator={moderates(room, user.id)}
              names={names}
              inThread
              isRoot
              tabIndex={-1}
              mentionsMe={mentionsUser(root, user.id)}
            />
          )}
        </div>
        <button id="thread-older" class="ghost small load-older" type="button" hidden={!ts.list.more} onClick={() => void loadOlderReplies()}>
          {t("thread.older")}
        </button>
        <MessageList
          id="thread-messages"
          label={t("thread.replyList")}
          messages={replies}
          pending={mine}
          me={user}
          member={room.member}
          moderator={moderates(room, user.id)}
          names={names}
          inThread
        />
      </div>
      {ts.error.value && (
        <p id="thread-error" class="error banner" role="alert">
          {ts.error.value}
        </p>
      )}
      {room.member && root && !root.deleted && (
        <Composer
          draft={`thread:${ts.room}:${ts.rootId}`}
          formId="thread-form"
          inputId="thread-composer"
          sendId="thread-send"
          label={t("thread.composerLabel")}
          placeholder={t("thread.placeholder")}
          sendLabel={t("thread.send")}
          onSend={(body) => {
            stick.current = true;
            send(ts.room, body, ts.rootId);
          }}
          onEditLast={() => {
            // your last reply, or the root when it is yours and you have not replied
            const last = [root, ...replies]
              .reverse()
              .find((m) => m && m.author.id === user.id && m.id && !m.deleted && !m.provisional && (m.kind ?? "message") === "message");
            if (!last?.id) return false;
            startEditing(last.id);
            return true;
          }}
          onType={() => typed(ts.room)}
        />
      )}
    </aside>
  );
}
