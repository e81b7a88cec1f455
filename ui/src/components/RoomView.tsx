// The room on screen: its head (title, join, leave, members, a room
// inside), the messages, who is typing, the composer; the members and the
// thread panels beside it. The composer comes first in the document (the
// skip link's target, two Tab presses from the top) and is placed at the
// bottom by CSS.

import { useComputed, useSignal, useSignalEffect } from "@preact/signals";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { createRoom, errorText, join, leave, loadOlder, markRead, scroll, send, typed } from "../client";
import { t } from "../i18n";
import type { MentionName } from "../markdown";
import { threadKey, threadUnread } from "../state/feeds";
import { typers } from "../state/presence";
import { isDirect, members, moderates, rooms, title } from "../state/rooms";
import { me } from "../state/session";
import { currentRoom, pending, startEditing, thread, type RoomState } from "../state/view";
import type { Message, Room } from "../types";
import { Composer } from "./Composer";
import { Members } from "./Members";
import { ProfileCard } from "./ProfileCard";
import { RoomInfo } from "./RoomInfo";
import { MessageList } from "./MessageList";
import { Thread } from "./Thread";
import { RoomMark } from "./Sidebar";

/** short cuts a name for a one-line placeholder. */
function short(name: string): string {
  const chars = [...name];
  return chars.length > 24 ? chars.slice(0, 23).join("") + "…" : name;
}

function Typing({ room }: { room: number }) {
  const [now, setNow] = useState(Date.now());
  const names = typers(room, now);
  useEffect(() => {
    if (names.length === 0) return;
    const timer = setTimeout(() => setNow(Date.now()), 1000);
    return () => clearTimeout(timer);
  });
  let text = "";
  if (names.length === 1) text = t("typing.one", { name: names[0]! });
  else if (names.length === 2) text = t("typing.two", { a: names[0]!, b: names[1]! });
  else if (names.length > 2) text = t("typing.many");
  return (
    <p id="typing" class="typing" aria-live="polite">
      {text}
    </p>
  );
}

function ChildForm({ room, close }: { room: Room; close(): void }) {
  const [error, setError] = useState("");
  const name = useRef<HTMLInputElement>(null);
  useEffect(() => name.current?.focus(), []);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const value = name.current?.value.trim() ?? "";
    if (!value) return;
    setError("");
    try {
      await createRoom(value, (form.elements.namedItem("child-private") as HTMLInputElement).checked, room.id);
      close();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form id="child-form" class="child-form" autocomplete="off" onSubmit={submit}>
      <input id="child-name" ref={name} maxLength={64} required aria-label={t("child.name")} placeholder={t("child.name")} />
      <label class="check">
        <input id="child-private" name="child-private" type="checkbox" /> {t("room.private")}
      </label>
      <button id="child-create" type="submit">
        {t("child.create")}
      </button>
      <button id="child-cancel" class="ghost" type="button" onClick={close}>
        {t("child.cancel")}
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function Messages({ rs, room, names }: { rs: RoomState; room: Room; names: readonly MentionName[] }) {
  rs.rev.value; // re-render when the list changes
  const user = me.value!;
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const list = rs.list.sorted();
  const mine = pending.value.filter((e) => e.room === rs.id && !e.thread);
  const unread = threadUnread.value;

  scroll.toBottom = () => {
    const s = scroller.current;
    if (s) s.scrollTop = s.scrollHeight;
    stick.current = true;
    scroll.atBottom = true;
  };

  // Keep the reader at the bottom when they were there; keep the message
  // they looked at in place when older ones come in above.
  const before = useRef({ height: 0, top: 0, oldest: 0 });
  useLayoutEffect(() => {
    const s = scroller.current;
    if (!s) return;
    const b = before.current;
    if (stick.current) s.scrollTop = s.scrollHeight;
    else if (b.oldest && rs.list.oldest < b.oldest) s.scrollTop = b.top + (s.scrollHeight - b.height);
    before.current = { height: s.scrollHeight, top: s.scrollTop, oldest: rs.list.oldest };
  });

  const onScroll = () => {
    const s = scroller.current;
    if (!s) return;
    const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 80;
    stick.current = atBottom;
    scroll.atBottom = atBottom;
    before.current = { height: s.scrollHeight, top: s.scrollTop, oldest: rs.list.oldest };
    if (s.scrollTop < 40) void loadOlder();
    markRead();
  };

  return (
    <div id="scroller" class="scroller" ref={scroller} onScroll={onScroll}>
      <button id="load-older" class="ghost small load-older" type="button" hidden={!(rs.list.loaded && rs.list.more)} onClick={() => void loadOlder()}>
        {t("room.loadOlder")}
      </button>
      {!rs.list.loaded && <p class="muted loading">{t("room.loading")}</p>}
      <MessageList
        id="messages"
        label={t("room.messages", { room: title(room, members.value.get(room.id), user.id) })}
        messages={list}
        pending={mine}
        me={user}
        member={room.member}
        moderator={moderates(room, user.id)}
        names={names}
        newAfter={rs.newAfter.value}
        threadNew={(m: Message) => (m.id ? (unread.get(threadKey(m.room, m.id)) ?? 0) : 0)}
      />
      {rs.list.loaded && list.length === 0 && mine.length === 0 && <p class="muted first">{t("room.emptyHistory")}</p>}
    </div>
  );
}

export function RoomView() {
  const rs = currentRoom.value;
  const user = me.value;
  const showMembers = useSignal(typeof matchMedia === "function" ? !matchMedia("(max-width: 960px)").matches : true);
  const [childOpen, setChildOpen] = useState(false);
  const [infoOpen, setInfoOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const room = rs ? rooms.value.get(rs.id) : undefined;
  const list = room ? members.value.get(room.id) : undefined;
  const names = useMemo<MentionName[]>(() => (list ?? []).map((m) => ({ name: m.name, me: m.id === user?.id })), [list, user?.id]);
  const error = useComputed(() => currentRoom.value?.error.value ?? "");
  useSignalEffect(() => {
    // a new room closes the form of the last one
    currentRoom.value;
    setChildOpen(false);
    setInfoOpen(false);
  });

  // A room picked in the sidebar with a mouse or the keyboard puts the
  // keyboard in its composer (not on a touch screen, where that would open
  // the on-screen keyboard; not on a page load, where Tab starts at the top).
  useEffect(() => {
    if (!rs || typeof matchMedia !== "function" || !matchMedia("(pointer: fine)").matches) return;
    if (!document.activeElement?.closest("#sidebar")) return;
    const c = document.getElementById("composer") as HTMLTextAreaElement | null;
    if (c && !c.disabled) c.focus();
  }, [rs]);

  if (!rs || !room || !user) return null;
  const name = title(room, list, user.id);
  const kind = isDirect(room) ? t("room.kindDirect") : room.private ? t("room.kindPrivate") : t("room.kindPublic");
  const act = (fn: () => Promise<void>) => async () => {
    setBusy(true);
    rs.error.value = "";
    try {
      await fn();
    } catch (err) {
      rs.error.value = errorText(err);
    } finally {
      setBusy(false);
    }
  };
  const ts = thread.value;

  return (
    <section id="room-view" class={ts ? "room-view with-thread" : "room-view"} aria-labelledby="room-title">
      <div class="room-main">
        <Composer
          draft={`room:${room.id}`}
          formId="composer-form"
          inputId="composer"
          sendId="send"
          label={t("composer.label", { room: name })}
          placeholder={room.member ? t("composer.placeholder", { room: short(isDirect(room) ? name : "#" + name) }) : t("composer.joinFirst")}
          sendLabel={t("composer.send")}
          disabled={!room.member}
          onSend={(body) => send(room.id, body)}
          onEditLast={() => {
            const last = rs.list
              .sorted()
              .reverse()
              .find((m) => m.author.id === user.id && m.id && !m.deleted && !m.provisional && (m.kind ?? "message") === "message");
            if (!last?.id) return false;
            startEditing(last.id);
            return true;
          }}
          onType={() => typed(room.id)}
        />
        <Messages key={rs.id} rs={rs} room={room} names={names} />
        <Typing room={room.id} />
        <p id="room-error-live" class="error banner" role="alert" hidden={!error.value}>
          {error.value}
        </p>
        <div class="room-head">
          <RoomMark room={room} />
          <h2 id="room-title">{name}</h2>
          <span id="room-kind" class="badge">
            {kind}
          </span>
          {room.topic ? (
            <p id="room-topic" class="room-topic" title={room.topic}>
              {room.topic}
            </p>
          ) : (
            <span class="spacer" />
          )}
          <button
            id="room-info-button"
            class="icon-button"
            type="button"
            aria-haspopup="dialog"
            aria-expanded={infoOpen}
            aria-label={t("people.roomInfo")}
            title={t("people.roomInfo")}
            onClick={() => setInfoOpen(true)}
          >
            <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
              <circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" stroke-width="2" />
              <path d="M12 11v6M12 7.5v.01" stroke="currentColor" stroke-width="2.4" stroke-linecap="round" />
            </svg>
          </button>
          <span class="room-head-break" aria-hidden="true" />
          {room.member && !isDirect(room) && (
            <button
              id="new-child"
              class="ghost small"
              type="button"
              aria-expanded={childOpen}
              title={t("child.title")}
              onClick={() => setChildOpen(!childOpen)}
            >
              {t("child.button")}
            </button>
          )}
          <button
            id="members-toggle"
            class="ghost small"
            type="button"
            aria-expanded={showMembers.value}
            aria-controls="members-panel"
            onClick={() => (showMembers.value = !showMembers.value)}
          >
            {t("members.toggle")}
          </button>
          <button id="join" type="button" hidden={room.member} disabled={busy} onClick={act(join)}>
            {t("room.join")}
          </button>
          <button id="leave" class="ghost small" type="button" hidden={!room.member} disabled={busy} onClick={act(leave)}>
            {t("room.leave")}
          </button>
        </div>
        {childOpen && <ChildForm room={room} close={() => setChildOpen(false)} />}
      </div>
      {showMembers.value && <Members room={room} close={() => (showMembers.value = false)} />}
      {ts && ts.room === room.id ? <Thread ts={ts} room={room} names={names} /> : <aside id="thread" class="thread" hidden />}
      <RoomInfo
        room={room}
        open={infoOpen}
        onClose={() => {
          setInfoOpen(false);
          document.getElementById("room-info-button")?.focus();
        }}
      />
      <ProfileCard />
    </section>
  );
}
